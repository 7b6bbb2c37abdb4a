"""A LangGraph graph whose long-term memory is a Mnemonix store. Run it while `make run`
is serving:

    MNEMONIX_API_KEY=$(cat data/default.key) python sdk/examples/langgraph_store.py

(`MNEMONIX_URL` points it at another server.) No model or network is needed: the chat
model is LangChain's own fake (`FakeListChatModel`); the memory is real.
"""

import os
import uuid
from pathlib import Path
from typing import TypedDict

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from mnemonix_client.langgraph import MnemonixStore

KEY_FILE = Path("data/default.key")


class State(TypedDict):
    message: str
    reply: str


class Context(TypedDict):
    user_id: str


def remember(state: State, runtime: Runtime[Context]) -> dict[str, str]:
    """Keep what the user says: namespace (user_id, "chat") = user and agent scope."""
    assert runtime.store is not None
    namespace = (runtime.context["user_id"], "chat")
    runtime.store.put(namespace, uuid.uuid4().hex, {"text": state["message"]})
    return {}


def respond(state: State, runtime: Runtime[Context]) -> dict[str, str]:
    """Answer with the user's most relevant memories in the prompt (the fused search)."""
    assert runtime.store is not None
    hits = runtime.store.search((runtime.context["user_id"],), query=state["message"], limit=3)
    notes = "\n".join(f"- {hit.value['text']}" for hit in hits)
    model = FakeListChatModel(responses=["Then no satay tonight: you're allergic to peanuts."])
    prompt = [
        SystemMessage(f"What you know about the user:\n{notes}"),
        HumanMessage(state["message"]),
    ]
    return {"reply": str(model.invoke(prompt).content)}


def main() -> None:
    api_key = os.environ.get("MNEMONIX_API_KEY") or KEY_FILE.read_text().strip()
    user = f"ann-{uuid.uuid4().hex[:6]}"  # a fresh user, so reruns start clean
    with MnemonixStore(api_key=api_key, base_url=os.environ.get("MNEMONIX_URL")) as store:
        graph = (
            StateGraph(State, context_schema=Context)
            .add_node("remember", remember)
            .add_node("respond", respond)
            .add_edge(START, "remember")
            .add_edge("remember", "respond")
            .add_edge("respond", END)
            .compile(store=store)
        )
        for message in [
            "I am allergic to peanuts and shellfish",
            "Our team uses PostgreSQL for the billing service",
            "What should I cook for dinner? Maybe satay?",
        ]:
            result = graph.invoke({"message": message, "reply": ""}, context={"user_id": user})
        print("reply:", result["reply"])

        top = store.search((user,), query="what am I allergic to?", limit=1)[0]
        print("recalled:", top.value["text"])
        store.put((user, "profile"), "diet", {"text": "no peanuts, no shellfish", "strict": True})
        item = store.get((user, "profile"), "diet")
        print("profile:", item.value if item else None)
        print("namespaces:", [ns[1:] for ns in store.list_namespaces(prefix=(user,))])
        for hit in store.search((user,), limit=100):
            store.delete(hit.namespace, hit.key)
        print("left:", len(store.search((user,))))


if __name__ == "__main__":
    main()
