"""Batch anchoring over HTTP. ``POST /anchoring/batches`` lets this node's account anchor records (text, one per
list item) in batches, one Merkle root and one transaction each; ``GET /anchoring/batches/{batch_id}`` reads a
batch from the chain; ``GET /anchoring/records/{record_id}/proofs`` gives the proofs this node keeps for a record;
``POST /anchoring/verify`` checks a record (its text or id) with a given proof or the node's own against the
chain. Hashing as in RFC 6962 / RFC 9162. See ``datagora.services.anchoring``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import AfterValidator, Field, model_validator

from datagora.api.deps import NodeDep, OperatorDep, ReaderDep
from datagora.api.schemas import Out, Strict
from datagora.crypto import merkle
from datagora.domain.anchoring import RecordProof
from datagora.services import anchoring
from datagora.storage.anchoring import AnchorStore

router = APIRouter(prefix="/anchoring", tags=["anchoring"])

HASH_PATTERN = r"^(0x)?[0-9a-fA-F]{64}$"
MAX_RECORDS = 1_000
MAX_RECORD_CHARS = 512
"""Records per request and characters per record: the largest body stays under the node's 1 MiB JSON limit, so a
body past these bounds is a 422, not a 413 (more records at once: ``datagora anchor`` on the node's host)."""
MAX_VERIFY_CHARS = 10_000
MAX_BATCHES = 10
"""Transactions one request may send (records / batch size, rounded up), so that a request stays short."""


def _utf8(text: str) -> str:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode (a lone surrogate)") from None
    return text


Text = Annotated[str, AfterValidator(_utf8)]
BatchPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="The batch id.")]
RecordIdPath = Annotated[str, Path(pattern=HASH_PATTERN, description="A record id: its leaf hash, 0x-hex.")]


class AnchorIn(Strict):
    records: list[Annotated[Text, Field(max_length=MAX_RECORD_CHARS)]] = Field(
        min_length=1, max_length=MAX_RECORDS, description="The records, each as text (UTF-8 is what is hashed)."
    )
    label: Text = Field(min_length=1, max_length=64, description="What the records are, for people.")
    batch_size: int = Field(default=anchoring.DEFAULT_BATCH_SIZE, ge=1, le=anchoring.MAX_BATCH_SIZE)

    @model_validator(mode="after")
    def _few_batches(self) -> AnchorIn:
        if -(-len(self.records) // self.batch_size) > MAX_BATCHES:
            raise ValueError(f"at most {MAX_BATCHES} batches per request: raise batch_size or send fewer records")
        return self


class BatchOut(Out):
    batch_id: int
    root: str
    size: int
    anchored_at: int = Field(description="Seconds since the epoch (the block's timestamp).")
    organisation_id: int


class AnchoredOut(Out):
    batch_id: int
    root: str
    size: int
    tx_hash: str
    block_number: int


class AnchorOut(Out):
    batches: list[AnchoredOut]
    record_ids: list[str] = Field(description="Each record's id (its leaf hash), in the order given.")


class ProofIn(Strict):
    batch_id: int = Field(ge=1, le=2**63 - 1)
    index: int = Field(ge=0, le=2**63 - 1, description="The record's position in the batch, from 0.")
    size: int = Field(ge=1, le=2**63 - 1)
    path: list[Annotated[str, Field(pattern=HASH_PATTERN)]] = Field(max_length=merkle.MAX_PROOF)


class ProofOut(ProofIn):
    chain_id: int
    contract: str
    leaf_hash: str


class VerifyIn(Strict):
    record: Text | None = Field(default=None, max_length=MAX_VERIFY_CHARS, description="The record's text.")
    record_id: str | None = Field(default=None, pattern=HASH_PATTERN, description="Or its id (leaf hash).")
    proof: ProofIn | None = Field(default=None, description="A proof to check; default: this node's own.")

    @model_validator(mode="after")
    def _one_of(self) -> VerifyIn:
        if (self.record is None) == (self.record_id is None):
            raise ValueError("give either the record or its record_id")
        return self


class VerifyOut(Out):
    ok: bool = Field(description="The proof leads to the batch's root on chain by all three checks.")
    record_id: str
    batch: BatchOut
    index: int
    in_python: bool
    by_pymerkle: bool
    on_chain: bool = Field(description="The Anchors contract's own verify view agrees.")


def _batch_out(batch_id: int, root: bytes, size: int, anchored_at: int, organisation_id: int) -> BatchOut:
    return BatchOut(
        batch_id=batch_id, root="0x" + root.hex(), size=size, anchored_at=anchored_at, organisation_id=organisation_id
    )


@router.post(
    "/batches",
    status_code=status.HTTP_201_CREATED,
    response_model=AnchorOut,
    responses={409: {"description": "This node's account is not in an Audited organisation"}},
)
def anchor(body: AnchorIn, node: NodeDep, _: OperatorDep) -> AnchorOut:
    """Anchor records in batches (one transaction per batch) with this node's account. Operator only."""
    records = [r.encode() for r in body.records]
    anchoring.check_label(body.label)
    store = AnchorStore(node.participant.paths.anchors)
    try:
        with node.acting():
            batches = anchoring.anchor_records(
                node.contracts,
                node.participant.account,
                records,
                label=body.label,
                store=store,
                batch_size=body.batch_size,
            )
    finally:
        store.close()
    return AnchorOut(
        batches=[
            AnchoredOut(
                batch_id=b.batch_id,
                root="0x" + b.root.hex(),
                size=b.size,
                tx_hash=b.tx_hash,
                block_number=b.block_number,
            )
            for b in batches
        ],
        record_ids=[anchoring.record_id(r) for r in records],
    )


@router.get("/batches/{batch_id}", response_model=BatchOut, responses={404: {"description": "No such batch"}})
def batch(batch_id: BatchPath, node: NodeDep, _: ReaderDep) -> BatchOut:
    """A batch as the chain holds it: root, size, time, organisation."""
    b = node.contracts.anchors.batch(batch_id)
    return _batch_out(b.batch_id, b.root, b.size, b.anchored_at, b.organisation_id)


@router.get(
    "/records/{record_id}/proofs",
    response_model=list[ProofOut],
    responses={404: {"description": "This node anchored no such record"}},
)
def proofs(record_id: RecordIdPath, node: NodeDep, _: ReaderDep) -> list[ProofOut]:
    """The proofs this node keeps for a record (one per batch it is in), for anyone to check."""
    store = AnchorStore(node.participant.paths.anchors)
    try:
        found = anchoring.proofs_of(node.contracts, store, anchoring.parse_record_id(record_id))
    finally:
        store.close()
    return [ProofOut(**anchoring.proof_document(node.contracts, p)) for p in found]


@router.post(
    "/verify",
    response_model=VerifyOut,
    responses={404: {"description": "No proof known for the record, or no such batch"}},
)
def verify(body: VerifyIn, node: NodeDep, _: ReaderDep) -> VerifyOut:
    """Check a record against the chain; ``ok`` is false for a changed record or one outside the batch."""
    leaf = (
        merkle.leaf_hash(body.record.encode())
        if body.record is not None
        else anchoring.parse_record_id(str(body.record_id))
    )
    if body.proof is not None:
        given = RecordProof(
            body.proof.batch_id,
            body.proof.index,
            body.proof.size,
            leaf,
            tuple(anchoring.parse_record_id(p) for p in body.proof.path),
        )
        result = anchoring.verify(node.contracts, leaf, given)
    else:
        store = AnchorStore(node.participant.paths.anchors)
        try:
            result = anchoring.verify_record(node.contracts, store, leaf)
        finally:
            store.close()
    b = result.batch
    return VerifyOut(
        ok=result.ok,
        record_id=result.record_id,
        batch=_batch_out(b.batch_id, b.root, b.size, b.anchored_at, b.organisation_id),
        index=result.proof.index,
        in_python=result.in_python,
        by_pymerkle=result.by_pymerkle,
        on_chain=result.on_chain,
    )
