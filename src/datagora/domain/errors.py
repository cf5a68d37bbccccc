"""Errors every layer raises; the CLI turns each into a one-line message and a non-zero exit code."""

from __future__ import annotations


class DatagoraError(Exception):
    """Base of every error Datagora raises on purpose."""


class ValidationError(DatagoraError):
    """Bad input from a user: malformed file, unknown id, wrong argument."""


class NotCanonicalJSON(ValidationError, ValueError):
    """A document to be hashed, signed or committed holds a value canonical JSON cannot write: NaN or Infinity, an
    object key that is not a string, text that is not valid Unicode, or a type JSON has no form for
    (:func:`datagora.domain.canonical.canonical_json`). Also a ``ValueError``. HTTP 422."""


class NotFoundError(ValidationError):
    """An id (dataset, listing, order, organisation, blob) that does not exist."""


class CryptoError(DatagoraError):
    """Decryption or verification failed: wrong key, tampered ciphertext, bad signature."""


class WrongKeyError(CryptoError):
    """The ciphertext is not addressed to this key, or the keystore password is wrong."""


class TamperedError(CryptoError):
    """Authentication of a ciphertext or an integrity check failed."""


class StorageError(DatagoraError):
    """The blob store cannot read or write a blob."""


class IntegrityError(StorageError):
    """A stored blob's content does not match its address (hash)."""


class ChainError(DatagoraError):
    """The chain node could not be reached or answered unexpectedly."""


class TransactionReverted(ChainError):
    """A transaction or call reverted; ``reason`` is the contract's message, e.g. ``"market: wrong price"``."""

    def __init__(self, reason: str, function: str = "") -> None:
        self.reason = reason
        self.function = function
        where = f"{function}: " if function else ""
        super().__init__(f"{where}reverted: {reason}")


class DeploymentError(ChainError):
    """The contract set is missing, incomplete or different from the recorded deployment."""


class InsufficientFunds(ValidationError):
    """The paying account holds less than an action needs (the amount, collateral and gas); the message says how
    much in plain words. HTTP 422."""


class AccessDenied(DatagoraError):
    """The caller's role or organisation status does not allow this (e.g. not a member of an Audited one)."""


class NoveltyRefused(DatagoraError):
    """The platform refused to attest a dataset because it matches one already on the market."""

    def __init__(self, message: str, matching_token_id: int | None = None) -> None:
        self.matching_token_id = matching_token_id
        super().__init__(message)


class Conflict(DatagoraError):
    """The resource is not in a state that allows the request yet (e.g. no delivery, no re-upload); HTTP 409."""


class DatasetRetired(DatagoraError):
    """The dataset was retired by its owner (``Catalog.retire``): its token is burned and its data destroyed, so
    nothing about it can be listed, bought, delivered or queried any more. HTTP 410 Gone."""

    def __init__(self, token_id: int, message: str | None = None) -> None:
        self.token_id = token_id
        super().__init__(message or f"dataset {token_id} was retired by its owner: it is no longer available")


class RateLimited(DatagoraError):
    """An account asked for something faster than the node allows; ``retry_after``: seconds to wait. HTTP 429
    with ``Retry-After``."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ComputationFailed(DatagoraError):
    """A secure multi-party computation did not finish: a party failed, disconnected or timed out."""
