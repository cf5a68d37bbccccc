"""Binding of ``ComputeJobs.vy``: compute-to-data jobs (Wang and Liu, EntDSM) with the payment in escrow, and the
federated rounds of a federated run. Amounts in wei (or the ERC-20's smallest unit), times in Unix seconds,
hashes 32 bytes."""

from __future__ import annotations

import functools
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.abi import event_abi_to_log_topic
from web3 import Web3

from datagora.chain.bindings.base import Binding, Deployable
from datagora.domain.compute import ComputeJob, JobKind, JobState
from datagora.domain.errors import NotFoundError
from datagora.domain.models import TxResult

ETHER = "0x" + "0" * 40

GAS: dict[str, int] = {
    "submit": 400_000,
    "accept": 80_000,
    "reject": 130_000,
    "post_result": 150_000,
    "fail": 130_000,
    "confirm": 150_000,
}
"""Gas limits of the job's frequent steps (sent without an estimate, see :meth:`Binding._send_known`): receipt gas
measured with 256-byte strings and fresh storage slots (submit 281,595 paying ether; accept 54,051; reject
86,660; post_result 102,234; fail 69,560; confirm 77,891), plus headroom. Only the gas used is paid."""


class ComputeJobsBinding(Binding):
    """Typed calls of the ComputeJobs contract."""

    NAME = "ComputeJobs"

    def submit(
        self,
        sender: LocalAccount,
        token_id: int,
        spec_hash: bytes,
        spec_uri: str,
        amount: int,
        *,
        kind: JobKind = JobKind.SINGLE,
        payment_token: str = ETHER,
        run_window: int = 86_400,
        confirm_window: int = 86_400,
    ) -> TxResult:
        """The requester asks the owner of dataset ``token_id`` to run the job whose signed spec hashes to
        ``spec_hash`` (the encrypted spec is at ``spec_uri``), paying ``amount`` into escrow (ether sent with the
        call; an ERC-20 must be approved first). The new id is in the ``JobSubmitted`` event
        (:meth:`submitted_id`). Refusals, e.g. "compute: requester not audited", "compute: own dataset", raise
        :class:`TransactionReverted` before anything is sent."""
        value = amount if payment_token == ETHER else 0
        send = (
            self._send
            if payment_token != ETHER
            else functools.partial(self._send_known, gas=GAS["submit"], preflight=True)
        )
        return send(
            sender,
            "submit",
            token_id,
            int(kind),
            spec_hash,
            spec_uri,
            Web3.to_checksum_address(payment_token),
            amount,
            run_window,
            confirm_window,
            value=value,
        )

    @staticmethod
    def submitted_id(result: TxResult) -> int:
        """The job id a :meth:`submit` transaction created."""
        for event in result.events:
            if event.name == "JobSubmitted":
                return int(event.args["job_id"])
        raise NotFoundError("the transaction submitted no compute job")

    def accept(self, owner: LocalAccount, job_id: int) -> TxResult:
        """The dataset's owner accepts the job before its deadline."""
        return self._send_known(owner, "accept", job_id, gas=GAS["accept"])

    def reject(self, owner: LocalAccount, job_id: int, reason: str) -> TxResult:
        """The owner refuses the job with a plain-words reason (at most 256 bytes); the requester is refunded."""
        return self._send_known(owner, "reject", job_id, reason, gas=GAS["reject"])

    def post_result(self, owner: LocalAccount, job_id: int, result_hash: bytes, result_uri: str) -> TxResult:
        """The owner commits to the result (encrypted to the requester, at ``result_uri``)."""
        return self._send_known(owner, "post_result", job_id, result_hash, result_uri, gas=GAS["post_result"])

    def fail(self, owner: LocalAccount, job_id: int, reason: str) -> TxResult:
        """The owner marks an accepted job failed (e.g. killed over its limits); the requester is refunded."""
        return self._send_known(owner, "fail", job_id, reason, gas=GAS["fail"])

    def confirm(self, requester: LocalAccount, job_id: int) -> TxResult:
        """The requester accepts the posted result: the owner is paid. Sent without a preflight: a refusal is mined
        (``services.compute.confirm_result`` checks the requester and the job's state first)."""
        return self._send_known(requester, "confirm", job_id, gas=GAS["confirm"])

    def release(self, sender: LocalAccount, job_id: int) -> TxResult:
        """Anyone, after the confirmation window of a posted result: the owner is paid."""
        return self._send(sender, "release", job_id)

    def refund(self, sender: LocalAccount, job_id: int) -> TxResult:
        """Anyone, after the deadline of a job without a result: the requester is refunded."""
        return self._send(sender, "refund", job_id)

    def record_round(self, requester: LocalAccount, job_id: int, round: int, aggregate_hash: bytes) -> TxResult:
        """The requester (the federated aggregator) records round ``round`` (previous + 1) of an accepted
        federated job with the hash of its aggregate model."""
        return self._send(requester, "record_round", job_id, round, aggregate_hash)

    def withdraw(self, sender: LocalAccount, payment_token: str = ETHER) -> TxResult:
        """Pay out what the contract owes the sender (pull payment)."""
        return self._send(sender, "withdraw", Web3.to_checksum_address(payment_token))

    def pending(self, account: str, payment_token: str = ETHER) -> int:
        """What ``account`` may withdraw, in the token's smallest unit (wei)."""
        return int(
            self._view(
                "pending_withdrawals", Web3.to_checksum_address(account), Web3.to_checksum_address(payment_token)
            )
        )

    def escrowed(self, payment_token: str = ETHER) -> int:
        """What the contract holds for open jobs (wei)."""
        return int(self._view("escrowed", Web3.to_checksum_address(payment_token)))

    def job_count(self) -> int:
        """How many jobs were ever submitted (ids run from 1)."""
        return int(self._view("job_count"))

    def job(self, job_id: int) -> ComputeJob:
        """The job; :class:`NotFoundError` when there is none with this id."""
        raw = self._view("job", job_id)
        (
            requester,
            owner,
            token_id,
            kind,
            state,
            spec_hash,
            payment_token,
            amount,
            deadline,
            confirm_window,
            confirm_deadline,
            result_hash,
            rounds,
        ) = raw
        if int(state) == 0:
            raise NotFoundError(f"no compute job {job_id}")
        return ComputeJob(
            job_id=job_id,
            requester=str(requester),
            owner=str(owner),
            token_id=int(token_id),
            kind=JobKind(int(kind)),
            state=JobState(int(state)),
            spec_hash=bytes(spec_hash),
            payment_token=str(payment_token),
            amount=int(amount),
            deadline=int(deadline),
            confirm_window=int(confirm_window),
            confirm_deadline=int(confirm_deadline),
            result_hash=bytes(result_hash),
            rounds=int(rounds),
        )

    def event_of(self, name: str, job_id: int, *, window: int = 16) -> dict[str, Any]:
        """The arguments of the last ``name`` event of job ``job_id`` (``JobSubmitted`` carries the spec's URI,
        ``ResultPosted`` the result's); :class:`NotFoundError` when the job has none. Searched backwards from the
        head in block ranges growing from ``window`` blocks sixteenfold (a job being handled is usually recent,
        and a node without log indexes, such as the embedded chain, reads every receipt of the range)."""
        entry = next(e for e in self.contract.abi if e.get("type") == "event" and e.get("name") == name)
        topics = [bytes(event_abi_to_log_topic(entry)), job_id.to_bytes(32, "big")]  # type: ignore[arg-type]
        first = self._contracts.deployment.block
        hi = self._chain.block_number()
        size = max(1, window)
        while hi >= first:
            lo = max(first, hi - size + 1)
            logs = self._contracts.get_logs([self.address], topics, lo, hi)
            found = [ev for ev in self._contracts.decode(logs) if ev.name == name]
            if found:
                return dict(found[-1].args)
            hi, size = lo - 1, size * 16
        raise NotFoundError(f"compute job {job_id} has no {name} event")


DEPLOYABLE = Deployable(
    "ComputeJobs",
    deployer="platform",
    needs=("Registry", "Catalog"),
    args=lambda addresses, options: (addresses["Registry"], addresses["Catalog"]),
    binding=ComputeJobsBinding,
)
