"""The README's SDK quickstart: run it while `make run` is serving."""

from pathlib import Path

from mnemonix_client import Mnemonix, NotFound

with Mnemonix(api_key=Path("data/default.key").read_text().strip()) as mx:
    mx.memories.add("I am allergic to peanuts and shellfish", user_id="ann")
    mx.memories.add_many(
        [
            {"content": "Our team uses PostgreSQL for the billing service", "user_id": "ann"},
            {"content": "My daughter's birthday party is on June 12th", "user_id": "ann"},
        ]
    )
    result = mx.search("what food should I avoid?", user_id="ann", limit=3, explain=True)
    top = result.results[0]
    print(top.memory.content, {name: r.rank for name, r in top.channels.items()})

    for memory in mx.memories.iter(user_id="ann"):
        print(memory.id, memory.content)

    try:
        mx.memories.get("00000000-0000-0000-0000-000000000000")
    except NotFound as error:
        print("not found:", error.detail)
