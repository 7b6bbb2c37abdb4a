from __future__ import annotations

from fastapi import APIRouter

from service.auth import Reader, State
from service.context.schemas import ContextRequest, ContextResponse
from service.context.service import build_context

router = APIRouter(prefix="/v1", tags=["context"])


@router.post("/context", response_model=ContextResponse)
def context(body: ContextRequest, principal: Reader, state: State) -> ContextResponse:
    """The memories most relevant to ``query`` that fit ``max_tokens``, as one block to paste
    into a prompt: grouped by session (or day), chronological, each line with its date and
    speaker or source; superseded and near-duplicate memories left out; of two contradicting
    memories the newer marked ``current``. ``tokens`` is the block's count by ``tokenizer``,
    never above ``max_tokens``."""
    return build_context(
        state, tenant_id=principal.tenant_id, binding=principal.binding, request=body
    )
