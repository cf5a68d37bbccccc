"""Datagora: share and trade data without giving it away.

Data stays encrypted off-chain in its owner's store; Vyper contracts on an EVM chain settle registration,
publication, sale, escrow and payment, and their events are the audit trail.
"""

__version__ = "0.1.0"
