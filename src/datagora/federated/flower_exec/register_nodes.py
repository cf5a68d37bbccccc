"""Register SuperNode public keys on a SuperLink in one process: what ``flwr supernode register KEY`` does, once per
key, without starting the ``flwr`` program again for each (on a busy machine each start costs seconds).

Runs in Flower's environment (never imported by Datagora), with ``FLWR_HOME`` holding the connection's
``config.toml``::

    python register_nodes.py CONNECTION KEY.pub [KEY.pub ...]

Prints one JSON object: ``{"success": true, "nodes": {"<key path>": <node id>, ...}}``, or ``{"success": false,
"error-message": "..."}`` with exit status 1. Uses the modules ``flwr supernode register`` uses (flwr 1.42.0,
the version Datagora pins): the connection from ``flwr.cli.flower_config``, the Control API client from
``flwr.cli.utils``, the key check from ``flwr.cli.supernode.register``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from flwr.cli.flower_config import read_superlink_connection
    from flwr.cli.supernode.register import try_load_public_key
    from flwr.cli.utils import init_http_client_from_connection
    from flwr.proto.control_pb2 import RegisterNodeRequest

    connection_name, *keys = sys.argv[1:]
    client = init_http_client_from_connection(read_superlink_connection(connection_name))
    nodes: dict[str, int] = {}
    try:
        for key in keys:
            response = client.RegisterNode(request=RegisterNodeRequest(public_key=try_load_public_key(Path(key))))
            if not response.node_id:
                raise RuntimeError(f"the SuperLink did not register {key}")
            nodes[key] = int(response.node_id)
    except Exception as exc:  # reported to Datagora as JSON
        print(json.dumps({"success": False, "error-message": f"{type(exc).__name__}: {exc}"}))
        return 1
    finally:
        client.close()
    print(json.dumps({"success": True, "nodes": nodes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
