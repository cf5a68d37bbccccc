"""Two-party secure comparison of l-bit integers (the millionaires' problem) over TCP on 127.0.0.1.

Two protocols, side by side, each between Alice (x, holds the private key) and Bob (y):

- :class:`LinTzeng`: the points paper's reference (Hu, Xin, Deng, Qian, section 3.1; Lin and Tzeng, "An
  Efficient Solution to the Millionaires' Problem Based on Homomorphic Encryption", ACNS 2005) with Paillier
  encryption (python-paillier keys, gmpy2 arithmetic). x > y exactly when Alice's 1-encoding of x and Bob's
  0-encoding of y share an element; Alice sends l encryptions, Bob returns l blinded differences in random order,
  Alice finds whether one decrypts to 0.
- :class:`DGK`: Damgard, Geisler and Kroigaard ("Efficient and Secure Comparison for On-Line Auctions", ACISP
  2007; "A correction to ...", 2009) with their own small-plaintext encryption, whose decryption only needs to
  tell zero from non-zero: Alice sends her bits encrypted, Bob returns c_i = 1 + y_i - x_i + 3 sum_{j>i} (x_j xor
  y_j), each blinded by a random non-zero factor and shuffled; one is 0 exactly when x > y.

In both, Bob learns nothing but the result (semantic security of the encryption) and Alice learns only which
comparison result holds (the other values are uniformly blinded and shuffled). Both parties learn ``x > y``.
:func:`compare` runs one comparison (or a batch, one message each way) with each party in its own thread and
the two talking over a TCP socket.
"""

from __future__ import annotations

import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import gmpy2

from datagora.domain.errors import ValidationError

DEFAULT_BITS = 32


def _check(values: list[int], bits: int) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << bits:
            raise ValidationError(f"comparison inputs must be whole numbers in 0..2^{bits} - 1, got {v!r}")


def _bits(v: int, bits: int) -> list[int]:
    """Most significant bit first."""
    return [(v >> (bits - 1 - i)) & 1 for i in range(bits)]


def _pack(values: list[int], width: int) -> bytes:
    return b"".join(int(v).to_bytes(width, "big") for v in values)


def _unpack(data: bytes, width: int) -> list[int]:
    return [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("the other party closed the connection")
        chunks.extend(chunk)
    return bytes(chunks)


def _recv(sock: socket.socket) -> bytes:
    (size,) = struct.unpack(">I", _recv_exact(sock, 4))
    return _recv_exact(sock, size)


def _shuffle(values: list[int]) -> list[int]:
    out = list(values)
    for i in range(len(out) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


class Comparison(Protocol):
    """A two-party comparison: Alice's first message, Bob's answer, Alice's result (``x > y`` per pair)."""

    name: str
    width: int
    bits: int

    def alice_first(self, xs: list[int]) -> list[int]: ...

    def bob_answer(self, cts: list[int], ys: list[int]) -> list[int]: ...

    def alice_result(self, cts: list[int], count: int) -> list[bool]: ...


class LinTzeng:
    """Lin-Tzeng comparison with Paillier (python-paillier key generation, gmpy2 arithmetic), ``key_bits``
    modulus (2048 by default, the paper's security level)."""

    name = "Lin-Tzeng + Paillier"

    def __init__(self, bits: int = DEFAULT_BITS, key_bits: int = 2048) -> None:
        from phe import paillier

        self.bits = bits
        public, private = paillier.generate_paillier_keypair(n_length=key_bits)
        self._public, self._private = public, private
        self.n = gmpy2.mpz(public.n)
        self.n2 = self.n * self.n
        self.width = (int(self.n2).bit_length() + 7) // 8

    def _encrypt(self, m: int) -> int:
        # (1 + n)^m r^n mod n^2, with (1 + n)^m = 1 + m n mod n^2
        r = gmpy2.mpz(secrets.randbelow(int(self.n) - 1) + 1)
        return int(((1 + m * self.n) * gmpy2.powmod(r, self.n, self.n2)) % self.n2)

    def _code(self, length: int, prefix: int) -> int:
        """A prefix of ``length`` bits as a number unique across lengths."""
        return (length << (self.bits + 1)) | prefix

    def alice_first(self, xs: list[int]) -> list[int]:
        out = []
        for x in xs:
            bits = _bits(x, self.bits)
            for i in range(self.bits):
                if bits[i] == 1:  # 1-encoding: the prefix x_1..x_i when x_i = 1
                    value = self._code(i + 1, x >> (self.bits - 1 - i))
                else:  # a value no 0-encoding can equal
                    value = (1 << (2 * self.bits + 8)) + secrets.randbits(self.bits)
                out.append(self._encrypt(value))
        return out

    def bob_answer(self, cts: list[int], ys: list[int]) -> list[int]:
        out = []
        for k, y in enumerate(ys):
            bits = _bits(y, self.bits)
            block = []
            for i in range(self.bits):
                c = gmpy2.mpz(cts[k * self.bits + i])
                if bits[i] == 0:  # 0-encoding: y_1..y_{i-1} followed by 1
                    t = self._code(i + 1, (y >> (self.bits - i)) << 1 | 1)
                    diff = (c * (1 - t * self.n)) % self.n2  # E(s_i - t)
                    r = gmpy2.mpz(secrets.randbelow(int(self.n) - 1) + 1)
                    blinded = gmpy2.powmod(diff, r, self.n2)  # E(r (s_i - t))
                    rho = gmpy2.mpz(secrets.randbelow(int(self.n) - 1) + 1)
                    block.append(int((blinded * gmpy2.powmod(rho, self.n, self.n2)) % self.n2))
                else:
                    block.append(self._encrypt(secrets.randbelow(int(self.n) - 1) + 1))
            out.extend(_shuffle(block))
        return out

    def alice_result(self, cts: list[int], count: int) -> list[bool]:
        p = self._private
        results = []
        for k in range(count):
            block = cts[k * self.bits : (k + 1) * self.bits]
            results.append(any(p.raw_decrypt(c) == 0 for c in block))
        return results


@dataclass(frozen=True)
class DGKPublicKey:
    """DGK public key: modulus ``n``, generators ``g`` (order u v_p v_q) and ``h`` (order v_p v_q), plaintext
    modulus ``u`` (a small prime), ``t`` bits of the randomness' order."""

    n: int
    g: int
    h: int
    u: int
    t: int


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | 1
        if gmpy2.is_prime(candidate, 30):
            return candidate


def _dgk_prime(u: int, v: int, bits: int) -> int:
    """A prime p of ``bits`` bits with u v dividing p - 1."""
    step = 2 * u * v
    while True:
        w = secrets.randbits(bits - step.bit_length()) | (1 << (bits - step.bit_length() - 1))
        p = step * w + 1
        if p.bit_length() == bits and gmpy2.is_prime(p, 30):
            return p


def _element_of_order(p: int, order: int, factors: list[int]) -> int:
    """An element of Z_p^* of exactly ``order`` (a product of the distinct primes ``factors``)."""
    while True:
        a = secrets.randbelow(p - 3) + 2
        e = gmpy2.powmod(a, (p - 1) // order, p)
        if all(gmpy2.powmod(e, order // f, p) != 1 for f in factors):
            return int(e)


def _crt(a: int, p: int, b: int, q: int) -> int:
    return int((a * q * gmpy2.invert(q, p) + b * p * gmpy2.invert(p, q)) % (p * q))


class DGK:
    """DGK comparison with a fresh DGK key (``key_bits`` modulus, 2048 by default; t = 160 bit subgroups)."""

    name = "DGK"

    def __init__(self, bits: int = DEFAULT_BITS, key_bits: int = 2048, t: int = 160) -> None:
        self.bits = bits
        u = int(gmpy2.next_prime(3 * bits + 3))  # c_i <= 2 + 3 l: fits in Z_u without wrapping
        vp, vq = _prime(t), _prime(t)
        p, q = _dgk_prime(u, vp, key_bits // 2), _dgk_prime(u, vq, key_bits // 2)
        gp, gq = _element_of_order(p, u * vp, [u, vp]), _element_of_order(q, u * vq, [u, vq])
        hp, hq = _element_of_order(p, vp, [vp]), _element_of_order(q, vq, [vq])
        n = p * q
        self.public = DGKPublicKey(n, _crt(gp, p, gq, q), _crt(hp, p, hq, q), u, t)
        self._p, self._vp = gmpy2.mpz(p), gmpy2.mpz(vp)
        self._n = gmpy2.mpz(n)
        self._g, self._h = gmpy2.mpz(self.public.g), gmpy2.mpz(self.public.h)
        self._g_powers = [gmpy2.powmod(self._g, m, self._n) for m in range(u)]
        self.width = (n.bit_length() + 7) // 8
        self._r_bits = int(2.5 * t)  # randomness of h: 2.5 t bits (DGK's parameter choice)
        # fixed-base table h^(d 2^(8k)): a random power of h costs r_bits / 8 multiplications
        self._h_table = []
        base = self._h
        for _ in range((self._r_bits + 7) // 8):
            row = [gmpy2.mpz(1)]
            for _ in range(255):
                row.append((row[-1] * base) % self._n)
            self._h_table.append(row)
            base = (row[-1] * base) % self._n

    def _random_h_power(self) -> gmpy2.mpz:
        """h^r mod n for a fresh random r of 2.5 t bits, by the fixed-base table."""
        r = secrets.randbits(self._r_bits)
        acc = gmpy2.mpz(1)
        for row in self._h_table:
            d = r & 0xFF
            if d:
                acc = (acc * row[d]) % self._n
            r >>= 8
        return acc

    def _encrypt(self, m: int) -> gmpy2.mpz:
        return (self._g_powers[m % self.public.u] * self._random_h_power()) % self._n

    def _is_zero(self, c: int) -> bool:
        # c^{v_p} mod p = g^{m v_p} mod p, which is 1 exactly when m = 0 mod u
        return bool(gmpy2.powmod(gmpy2.mpz(c) % self._p, self._vp, self._p) == 1)

    def alice_first(self, xs: list[int]) -> list[int]:
        return [int(self._encrypt(bit)) for x in xs for bit in _bits(x, self.bits)]

    def bob_answer(self, cts: list[int], ys: list[int]) -> list[int]:
        n, u = self._n, self.public.u
        out = []
        for k, y in enumerate(ys):
            bits = _bits(y, self.bits)
            xs = [gmpy2.mpz(c) for c in cts[k * self.bits : (k + 1) * self.bits]]
            block = []
            xor_sum = gmpy2.mpz(1)  # E(sum over more significant bits of x_j xor y_j), as g^0 h^0
            for i in range(self.bits):  # most significant first
                neg_x = gmpy2.powmod(xs[i], u - 1, n)  # E(-x_i)
                c = (self._g_powers[1 + bits[i]] * neg_x) % n  # E(1 + y_i - x_i)
                c = (c * gmpy2.powmod(xor_sum, 3, n)) % n  # + 3 sum_{j>i}(x_j xor y_j)
                c = gmpy2.powmod(c, secrets.randbelow(u - 1) + 1, n)  # blind by a non-zero factor
                c = (c * self._random_h_power()) % n  # re-randomise
                block.append(int(c))
                xor = xs[i] if bits[i] == 0 else (self._g_powers[1] * neg_x) % n  # E(x_i xor y_i)
                xor_sum = (xor_sum * xor) % n
            out.extend(_shuffle(block))
        return out

    def alice_result(self, cts: list[int], count: int) -> list[bool]:
        return [any(self._is_zero(c) for c in cts[k * self.bits : (k + 1) * self.bits]) for k in range(count)]


@dataclass(frozen=True)
class ComparisonRun:
    """A finished comparison: ``greater[k]`` is x_k > y_k; ``seconds`` wall time of the protocol (key
    generation excluded); ``bytes`` sent both ways."""

    protocol: str
    greater: list[bool]
    seconds: float
    bytes: int


def compare(protocol: Comparison, xs: list[int], ys: list[int], *, timeout: float = 600.0) -> ComparisonRun:
    """Compare Alice's ``xs`` with Bob's ``ys`` pairwise (a batch: one message each way), Alice and Bob each in
    a thread, talking over TCP on 127.0.0.1. Raises :class:`ValidationError` for inputs outside
    0..2^bits - 1 or lists of different lengths, ``ConnectionError`` when a party's connection drops."""
    if len(xs) != len(ys) or not xs:
        raise ValidationError("compare needs two non-empty lists of the same length")
    _check(xs, protocol.bits)
    _check(ys, protocol.bits)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    errors: list[BaseException] = []
    sent = [0]

    def bob() -> None:
        try:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(timeout)
                cts = _unpack(_recv(conn), protocol.width)
                answer = _pack(protocol.bob_answer(cts, ys), protocol.width)
                sent[0] += len(answer)
                _send(conn, answer)
                _recv(conn)  # Alice tells Bob the result
        except BaseException as exc:  # reported by the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=bob, name="comparison-bob", daemon=True)
    thread.start()
    started = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            first = _pack(protocol.alice_first(xs), protocol.width)
            sent[0] += len(first)
            _send(conn, first)
            greater = protocol.alice_result(_unpack(_recv(conn), protocol.width), len(xs))
            _send(conn, bytes(greater))
        thread.join(timeout)
    finally:
        server.close()
    if errors:
        raise errors[0]
    return ComparisonRun(protocol.name, greater, time.perf_counter() - started, sent[0] + len(xs))
