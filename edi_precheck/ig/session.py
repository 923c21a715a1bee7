"""Implementation-guide validation of one file, alongside the claim reader.

Transaction sets are collected as the segments stream past and handed to the validator at
their SE; their outcomes are turned into findings once every claim of the set has been read
(so errors can be pinned to claims and lines). At most a few sets are in flight at once, so
memory does not grow with the file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from edi_precheck.findings import Finding
from edi_precheck.ig.ack import AckBuilder
from edi_precheck.ig.findings import ClaimLocations, ig_findings
from edi_precheck.ig.transactions import TransactionCollector, TransactionSet
from edi_precheck.ig.validator import IGValidator, Pending
from edi_precheck.model import Claim
from edi_precheck.model.structure import Position


class FileValidation:
    """A segment sink (`model.structure`) that is also told of every claim read
    (`claim_read`); then `finish()`. Each set's x12.ig findings go to `on_resolved(SE
    position, findings)` as soon as they are known, in file order."""

    def __init__(
        self,
        name: str,
        validator: IGValidator,
        ack: AckBuilder | None,
        on_resolved: Callable[[int, list[Finding]], None],
    ) -> None:
        self._name = name
        self._validator = validator
        self._ack = ack
        self._on_resolved = on_resolved
        self._collector = TransactionCollector(self._submit)
        self._locations = ClaimLocations()
        self._pending: deque[tuple[TransactionSet, Pending]] = deque()
        self._just_completed: TransactionSet | None = None
        self._in_flight_limit = 2 * validator.jobs

    def segment(self, index: int, raw: str, position: Position) -> None:
        self._collector.segment(index, raw, position)

    def end_of_file(self, position: Position) -> None:
        self._collector.end_of_file(position)

    def claim_read(self, claim: Claim) -> None:
        self._locations.add(claim)
        self._just_completed = None  # its last claim has now been read
        self._resolve(wait=False)

    def done(self) -> bool:
        """True when every transaction set of the file has its outcome."""
        return all(pending.done() for _, pending in self._pending)

    def abandon(self) -> None:
        """Drop the sets not validated yet (the caller has stopped waiting for the file):
        what their validation would cost is not spent, and they give no findings."""
        kept: deque[tuple[TransactionSet, Pending]] = deque()
        for transaction, pending in self._pending:
            if pending.done():
                kept.append((transaction, pending))
            else:
                pending.cancel()
        self._pending = kept

    def finish(self) -> None:
        """Wait for every set of the file; their findings go to `on_resolved`."""
        self._just_completed = None
        self._resolve(wait=True)

    def _submit(self, transaction: TransactionSet) -> None:
        # Called at the set's SE, before the reader has handed over its last claim.
        self._pending.append((transaction, self._validator.submit(transaction.text)))
        transaction.text = ""
        self._just_completed = transaction
        if len(self._pending) > self._in_flight_limit:
            self._resolve(wait=True, keep_last=True)

    def _resolve(self, wait: bool, keep_last: bool = False) -> None:
        """Turn finished outcomes into findings, oldest first (the order is the report's)."""
        while self._pending:
            transaction, pending = self._pending[0]
            if transaction is self._just_completed:
                return  # its last claim is not read yet
            if keep_last and len(self._pending) <= self._in_flight_limit:
                return
            if not wait and not pending.done():
                return
            self._pending.popleft()
            outcome = pending.result()
            self._on_resolved(
                transaction.se_index, ig_findings(transaction, outcome, self._locations)
            )
            if self._ack is not None:
                self._ack.add(self._name, transaction, outcome)
            following = self._pending[0][0].st_index if self._pending else transaction.se_index
            self._locations.forget_before(following)
