"""What every command shares: the Typer subclass that handles errors once, the options every command takes
(``--home``, ``--rpc-url``, ``--account``, also accepted before the command name), and the typed context a
command reads them from (:func:`session`).

A command never unlocks a keystore unless it signs: :meth:`Session.address` reads the address field of the
keystore, :meth:`Session.participant` takes the key from the unlock agent when the account is unlocked there
(``datagora account unlock``), else decrypts the keystore (password from ``DATAGORA_PASSWORD`` or a prompt).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from datagora.domain.errors import ChainError, DatagoraError, TransactionReverted, ValidationError
from datagora.domain.refusals import explain, plain_refusal
from datagora.home import DEFAULT_HOME, Home

if TYPE_CHECKING:
    from datagora.chain.client import Chain
    from datagora.chain.contracts import Contracts
    from datagora.services.participant import Participant

console = Console()
err = Console(stderr=True)


# -- the options every command takes ---------------------------------------------------------------------------

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="DATAGORA_HOME",
        help="Folder of keystores, deployments and local stores (default: ~/.datagora).",
    ),
]
RpcUrlOption = Annotated[
    str | None,
    typer.Option(
        "--rpc-url", envvar="DATAGORA_RPC_URL", help="JSON-RPC URL of the chain node (default: the profile's)."
    ),
]
AccountOption = Annotated[
    str | None,
    typer.Option(
        "--account",
        "-a",
        envvar="DATAGORA_ACCOUNT",
        help="Keystore name of the acting account (default: the profile's).",
    ),
]
COMMON: dict[str, tuple[Any, Any]] = {"home": (HomeOption, None), "rpc_url": (RpcUrlOption, None)}
WITH_ACCOUNT: dict[str, tuple[Any, Any]] = {**COMMON, "account": (AccountOption, None)}


@dataclass(frozen=True)
class Profile:
    """Options remembered in ``<home>/profile.json`` so they need not be repeated: the chain node's JSON-RPC URL
    and the acting account's keystore name."""

    rpc_url: str | None = None
    account: str | None = None

    @classmethod
    def load(cls, path: Path) -> Profile:
        """The profile at ``path`` (empty when the file is absent). ``ValidationError`` when it is malformed."""
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"profile {path} is not JSON: fix or delete it") from None
        if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str | None) for k in ("rpc_url", "account")):
            raise ValidationError(f"profile {path} is malformed: fix or delete it")
        return cls(doc.get("rpc_url"), doc.get("account"))

    def save(self, path: Path) -> Path:
        from datagora.fsutil import atomic_write_json

        return atomic_write_json(path, {k: v for k, v in (("rpc_url", self.rpc_url), ("account", self.account)) if v})


@dataclass
class Session:
    """The typed context of one command: the home, the chain node's URL and the acting account, each from the
    command's option, else the option given before the command name, else the profile."""

    home: Home
    rpc_url: str | None
    account: str | None
    profile: Profile = field(default_factory=Profile)
    _contracts: Contracts | None = None
    signs: bool = False
    _participants: dict[str, Participant] = field(default_factory=dict)
    _unlocking: dict[str, Future[bytes | None]] = field(default_factory=dict)
    _agent_keys: dict[str, bytes | None] = field(default_factory=dict)
    _chain: Chain | None = None

    # -- accounts ------------------------------------------------------------------------------------------

    def account_name(self, name: str | None = None) -> str:
        """``name``, or the acting account. ``ValidationError`` when none is given nor remembered."""
        chosen = name or self.account
        if not chosen:
            raise ValidationError(
                "which account? pass --account NAME (or remember one: datagora profile set --account NAME)"
            )
        if "/" in chosen or chosen.startswith(".") or "\\" in chosen:
            raise ValidationError(f"invalid account name {chosen!r}")
        return chosen

    def keystore(self, name: str | None = None) -> Path:
        return self.home.keystore(self.account_name(name))

    def address(self, name: str | None = None) -> str:
        """The address a keystore names, read without decrypting it. ``ValidationError`` when the keystore is
        missing or has no address."""
        from datagora.crypto.keys import check_keystore

        path = self.keystore(name)
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise ValidationError(f"keystore {path} does not exist (see: datagora account list)") from None
        except IsADirectoryError:
            raise ValidationError(f"keystore {path} is a directory") from None
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(f"keystore {path} is not JSON") from None
        check_keystore(doc, path)
        address = doc.get("address")
        if not isinstance(address, str):
            raise ValidationError(f"keystore {path} is malformed: no address field")
        from eth_utils.address import to_checksum_address

        try:
            return str(to_checksum_address("0x" + address.removeprefix("0x")))
        except ValueError:
            raise ValidationError(f"keystore {path} is malformed: its address field is not an address") from None

    def password(self, name: str, *, new: bool = False) -> str:
        """The keystore password: ``DATAGORA_PASSWORD``, else a prompt when there is a terminal (typed twice for
        a ``new`` keystore)."""
        pw = os.environ.get("DATAGORA_PASSWORD")
        if pw is not None:
            return pw
        if not sys.stdin.isatty():
            raise ValidationError(
                f"no password for the keystore of {name} and no terminal to ask for one: set DATAGORA_PASSWORD "
                f"(or unlock the account first: datagora account unlock {name})"
            )
        return str(typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=new))

    def key_from_agent(self, name: str) -> bytes | None:
        """The private key of account ``name`` held by the home's unlock agent, or None: no agent runs, it does
        not hold the account (never unlocked, expired, locked), ``DATAGORA_AGENT=off``, or the agent cannot be
        used. In the last case a warning line on stderr says why (its socket is not private to the user, it
        stopped while answering, its key is not the keystore's) and the password is asked for instead."""
        if name in self._agent_keys:
            return self._agent_keys[name]
        from datagora.services import unlock_agent

        key: bytes | None = None
        if not unlock_agent.disabled():
            try:
                found = unlock_agent.fetch(self.home.agent_socket, name)
            except unlock_agent.AgentError as exc:
                warn(f"{exc}; the keystore is decrypted with the password instead")
                found = None
            if found is not None:
                from datagora.crypto.keys import address_of_private_key

                try:
                    matches = address_of_private_key(found[0]).lower() == self.address(name).lower()
                except ValidationError:
                    matches = False
                if matches:
                    key = found[0]
                else:
                    warn(
                        f"the unlock agent's key for {name} is not the one in its keystore; the keystore is "
                        "decrypted with the password instead (`datagora account lock` clears the agent)"
                    )
        self._agent_keys[name] = key
        return key

    def participant(self, name: str | None = None) -> Participant:
        """The account ``name`` (default: the acting one) with its key (from the unlock agent, else decrypted) and
        its local stores."""
        from datagora.crypto.keys import load_keystore
        from datagora.services.participant import Participant

        chosen = self.account_name(name)
        if chosen not in self._participants:
            from_agent = self.key_from_agent(chosen)
            if from_agent is not None:
                from datagora.crypto.keys import account_of

                self._participants[chosen] = Participant(
                    chosen, account_of(from_agent), self.home.participant(chosen).root
                )
                return self._participants[chosen]
            early = self._unlocking.pop(chosen, None)
            derived = None
            if early is not None:
                try:
                    derived = early.result()
                except Exception:
                    derived = None  # decrypted below the usual way, which reports what is wrong
            if derived is not None:
                from datagora.crypto.keys import account_of, decrypt_keystore

                path = self.home.keystore(chosen)
                account = account_of(decrypt_keystore(path, self.password(chosen), derived_key=derived))
            else:
                account = load_keystore(self.home.keystore(chosen), self.password(chosen))
            self._participants[chosen] = Participant(chosen, account, self.home.participant(chosen).root)
        return self._participants[chosen]

    def unlock_in_background(self, name: str | None = None) -> None:
        """For a command that signs, start decrypting the key of account ``name`` (default: the acting one) in a
        thread while the chain libraries load and the chain is read: the key derivation (scrypt) runs in C without
        holding the GIL, so it overlaps on a second core. Only with the password in ``DATAGORA_PASSWORD`` (never a
        prompt) and a well-formed keystore. Only the key derivation runs early: the key itself is decrypted (and
        a wrong password reported) by :meth:`participant`, after the command checked its input files; a command
        that stops before leaves the thread's result unused. ``DATAGORA_EARLY_UNLOCK=0`` turns it
        off (the key is then decrypted when first needed), e.g. to measure what it saves."""
        name = name or self.account
        password = os.environ.get("DATAGORA_PASSWORD")
        early = os.environ.get("DATAGORA_EARLY_UNLOCK", "1") != "0"
        if not early or not self.signs or not name or password is None or name in self._unlocking:
            return
        try:
            path = self.keystore(name)
        except ValidationError:
            return  # reported when the command needs the key
        if not path.is_file():
            return  # likewise (nothing here may import the crypto package: it loads eth_account, ~0.5 s)
        if self.home.agent_socket.exists() and self.key_from_agent(name) is not None:
            return  # unlocked in the agent: nothing to derive

        def run() -> None:
            try:
                future.set_result(_derive_keystore_key(path, password))
            except BaseException as exc:  # participant() then decrypts the usual way and reports the error
                future.set_exception(exc)

        future: Future[bytes | None] = Future()
        self._unlocking[name] = future
        threading.Thread(target=run, name=f"datagora-unlock-{name}", daemon=True).start()

    # -- the chain -----------------------------------------------------------------------------------------

    def require_rpc_url(self) -> str:
        if not self.rpc_url:
            raise DatagoraError(
                "this command needs a running chain: pass --rpc-url URL, set DATAGORA_RPC_URL, or remember it with "
                "`datagora profile set --rpc-url URL` (`datagora demo` runs a whole trade on an embedded chain)"
            )
        return self.rpc_url

    def chain(self) -> Chain:
        """The chain node at the RPC URL (one connection per command)."""
        return self.contracts_or_chain()[1]

    def contracts_or_chain(self) -> tuple[Contracts | None, Chain]:
        if self._chain is None:
            url = self.require_rpc_url()
            self.unlock_in_background()
            from datagora.chain.client import RpcChain

            self._chain = RpcChain(url)
        return self._contracts, self._chain

    def contracts(self, chain: Chain | None = None) -> Contracts:
        """The contract set recorded in the home's deployment manifest for the chain at the RPC URL."""
        if self._contracts is None:
            chain = chain or self.chain()
            from datagora.chain.contracts import Contracts

            self._contracts = Contracts.attach(chain, self.home.deployments)
        return self._contracts


_SESSION: ContextVar[Session | None] = ContextVar("datagora_session", default=None)
_ROOT: ContextVar[dict[str, Any] | None] = ContextVar("datagora_root_options", default=None)


def _derive_keystore_key(path: Path, password: str) -> bytes | None:
    """The scrypt-derived key of a version-3 keystore for ``password`` (None for another KDF): the slow step of
    decrypting it, done with pycryptodome's scrypt as eth-keyfile does. It lives here, not in
    :mod:`datagora.crypto`, because importing that package loads eth_account, which would hold the thread (and the
    import locks the main thread needs) for most of the time the derivation could overlap;
    :func:`datagora.crypto.keys.decrypt_keystore` checks the result against the keystore's MAC."""
    from Crypto.Protocol.KDF import scrypt

    doc = json.loads(path.read_bytes())
    crypto = doc.get("crypto", doc.get("Crypto"))
    if crypto.get("kdf") != "scrypt":
        return None
    params = crypto["kdfparams"]
    derived = scrypt(
        password.encode("utf-8"),  # type: ignore[arg-type]  # pycryptodome hashes bytes or str alike
        bytes.fromhex(str(params["salt"]).removeprefix("0x")),  # type: ignore[arg-type]
        int(params["dklen"]),
        N=int(params["n"]),
        r=int(params["r"]),
        p=int(params["p"]),
        num_keys=1,
    )
    return bytes(derived)  # type: ignore[arg-type]


def session() -> Session:
    """The :class:`Session` of the running command."""
    found = _SESSION.get()
    if found is None:  # pragma: no cover - every command runs through DatagoraTyper
        raise RuntimeError("no datagora session: the command was not registered through DatagoraTyper")
    return found


def set_root_options(home: Path | None, rpc_url: str | None, account: str | None) -> None:
    """Remember the options given before the command name (the root callback calls this)."""
    _ROOT.set({"home": home, "rpc_url": rpc_url, "account": account})


def open_session(home: Path | None, rpc_url: str | None, account: str | None) -> Session:
    """Build the command's :class:`Session` from its own options over the root's and the profile; kept for
    :func:`session` until the next command."""
    root = _ROOT.get() or {}
    home_dir = home or root.get("home") or DEFAULT_HOME
    where = Home(Path(home_dir).expanduser())
    profile = Profile.load(where.profile)
    s = Session(
        where,
        rpc_url or root.get("rpc_url") or profile.rpc_url,
        account or root.get("account") or profile.account,
        profile,
    )
    _SESSION.set(s)
    return s


# -- errors ------------------------------------------------------------------------------------------------


def _root_cause(exc: BaseException) -> BaseException:
    seen = exc
    while seen.__cause__ is not None or (seen.__context__ is not None and not seen.__suppress_context__):
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return seen


def _why_unreachable(exc: BaseException) -> str:
    text = f"{type(_root_cause(exc)).__name__} {_root_cause(exc)} {exc}".lower()
    if "refused" in text:
        return "connection refused"
    if "timed out" in text or "timeout" in text:
        return "no answer in time"
    if "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "unknown host name"
    return "no connection"


def plain_message(exc: BaseException) -> str:
    """The one line a person reads for ``exc``: whitespace collapsed; an unreachable chain node or Datagora
    node named with a hint instead of the HTTP library's text; a contract's refusal as a sentence followed by the
    refused call and the contract's reason (``datagora.domain.refusals``)."""
    if isinstance(exc, TransactionReverted) and (sentence := plain_refusal(exc.reason)):
        return f"{sentence} ({' '.join(str(exc).split())})"
    message = " ".join(str(exc).split()) or type(exc).__name__
    if plain_refusal(message):
        return explain(message)
    if isinstance(exc, ChainError) and message.startswith("cannot reach the chain node"):
        import re

        found = re.match(r"cannot reach the chain node at (\S+?):? ", message + " ")
        where = f" at {found.group(1)}" if found else ""
        return (
            f"cannot reach the chain node{where} ({_why_unreachable(exc)}): is it running? Check --rpc-url, "
            "DATAGORA_RPC_URL or the profile (`datagora profile show`)"
        )
    url = getattr(exc, "url", None)
    if getattr(exc, "status", None) == 0 and isinstance(url, str) and url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
        return f"cannot reach the node at {where} ({_why_unreachable(exc)}): is it running? Check the URL"
    if "insufficient funds" in message.lower():
        return "the account cannot pay for this transaction and its gas: see `datagora balance`"
    return message


def warn(text: str) -> None:
    """Print ``text`` as one ``warning:`` line on stderr (Rich markup escaped)."""
    err.print(f"[yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)


def fail(exc: BaseException) -> typer.Exit:
    """Print ``exc`` as one ``error:`` line on stderr (Rich markup escaped); exit code 1."""
    err.print(f"[bold red]error:[/] {escape(plain_message(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _with_options(
    fn: Callable[..., Any], options: dict[str, tuple[Any, Any]], signs: bool, *, opens_session: bool = True
) -> Callable[..., Any]:
    """``fn`` with error handling, taking ``options`` (name → (annotation, default)) as keyword-only parameters
    it does not declare itself; their values open the command's :class:`Session`."""
    sig = inspect.signature(fn, eval_str=True)
    extra = {n: spec for n, spec in options.items() if n not in sig.parameters}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {n: kwargs.pop(n, None) for n in extra}
        try:
            if opens_session:
                opened = open_session(given.get("home"), given.get("rpc_url"), given.get("account"))
                opened.signs = signs
                opened.unlock_in_background()  # before the command's imports, which take as long as the scrypt
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except (DatagoraError, ValueError, OSError) as exc:
            raise fail(exc) from None
        except KeyboardInterrupt:
            err.print("[bold red]error:[/] interrupted", highlight=False)
            raise typer.Exit(130) from None

    params = list(sig.parameters.values()) + [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for n, (annotation, default) in extra.items()
    ]
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**{p.name: p.annotation for p in params}, "return": sig.return_annotation}
    del wrapper.__wrapped__  # Typer reads the signature above, not the wrapped function's
    return wrapper


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, for the list of commands in ``--help``."""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    end = paragraph.find(". ")
    return paragraph if end < 0 else paragraph[: end + 1]


class DatagoraTyper(typer.Typer):
    """A Typer whose commands print a Datagora error as one ``error:`` line (exit code 1, no traceback) and
    accept ``--home``, ``--rpc-url`` and (unless ``account=False``) ``--account`` after the command name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(*args, **kwargs)

    def command(  # type: ignore[override]
        self,
        name: str | None = None,
        *,
        account: bool = True,
        common: bool = True,
        signs: bool | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a command. ``account``: it takes ``--account``; ``common``: it takes ``--home`` and
        ``--rpc-url``; ``signs`` (default: ``account``): it usually signs with the acting account, whose key may
        then be decrypted in the background (:meth:`Session.unlock_in_background`); read-only commands pass
        ``signs=False``."""
        options = (WITH_ACCOUNT if account else COMMON) if common else {}

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            extra: dict[str, Any] = {}
            if "short_help" not in kwargs and fn.__doc__:
                extra["short_help"] = first_sentence(fn.__doc__)
            super(DatagoraTyper, self).command(name, **kwargs, **extra)(
                _with_options(fn, options, account if signs is None else signs, opens_session=common)
            )
            return fn

        return decorator

    def callback(  # type: ignore[override]
        self, *, account: bool = False, common: bool = True, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        register = super().callback(**kwargs)
        options = (WITH_ACCOUNT if account else COMMON) if common else {}

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_with_options(fn, options, False, opens_session=common))
            return fn

        return decorator


# -- small helpers commands share ----------------------------------------------------------------------------


def check_input_file(path: Path, what: str = "file") -> Path:
    """Refuse a missing, unreadable or empty input file before anything is unlocked or sent."""
    if not path.exists():
        raise ValidationError(f"no such {what}: {path}")
    if not path.is_file():
        raise ValidationError(f"{path} is not a file")
    if path.stat().st_size == 0:
        raise ValidationError(f"{what} is empty: {path}")
    if not os.access(path, os.R_OK):
        raise ValidationError(f"cannot read {path}")
    return path


def check_output_file(path: Path, force: bool) -> Path:
    """Refuse to overwrite an existing ``path`` unless ``force``; its folder must exist or be creatable."""
    if path.exists() and not force:
        raise ValidationError(f"{path} already exists: choose another --out or pass --force to overwrite it")
    if path.is_dir():
        raise ValidationError(f"{path} is a folder: --out names the file to write")
    return path


ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")]


def print_done(text: str, tx: Any = None) -> None:
    """``✓ text`` and, for a transaction, its hash and gas."""
    suffix = f"  [dim]tx {tx.tx_hash}  gas {tx.gas_used:,}[/]" if tx is not None else ""
    console.print(f"[green]✓[/] {escape(text)}{suffix}", highlight=False)
