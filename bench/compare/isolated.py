"""Run one peer's measurement in this fresh interpreter and print ``SAMPLE {json}``.

The comparison runs gevent, pykka and thespian this way, so that no hub,
thread or actor system outlives its measurement or meets the asyncio loop::

    PYTHONPATH=bench python -m compare.isolated WORKLOAD SYSTEM PARAMS_JSON ENV_JSON
"""

import json
import sys

from actors.benchmarks.catalog import WORKLOADS, Env

from . import peers


def main(argv):
    """Measure ``argv = [workload, system, params_json, env_json]`` once."""
    name, system, params, env = argv
    peers.load()
    fn = peers.implementation(WORKLOADS[name], system)
    if fn is None:
        raise SystemExit(f"compare: {system} has no version of {name}")
    sample = fn(json.loads(params), Env(**json.loads(env)))
    print("SAMPLE " + json.dumps({"value": sample.value, "extra": sample.extra}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
