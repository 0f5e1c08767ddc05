"""The rows of ``python -m actors bench``: one declaration per workload.

Definitions are identical for every system (actors, the asyncio baseline,
Erlang/OTP in ``bench.erl``, and pykka where a row has it); what is timed is
said in each description. Implementations live in ``impl_actors.py`` and
``impl_asyncio.py`` here, and in the checkout's ``bench/compare``
(``impl_pykka.py``, ``bench.erl``, and the peers of ``--compare``); the
parameters are passed to Erlang in the order given here.

The first rows measure the core (messages, processes, timers, memory); the
last ones the OTP layers built on it (GenServer, Supervisor, Registry).
"""

from .catalog import (LATENCY, MEMORY, RATE, AllOf, AtLeast, AtMost, Lateness, RelativeTo,
                       Speedup, workload)

PING_PONG = workload(
    "ping-pong", RATE, "msg/s",
    "2 processes, {messages:,} one-way messages in all ({messages:,} / 2 round trips of an int); "
    "timed from the first send to the last reply",
    full={"messages": 1_000_000}, quick={"messages": 50_000},
    target=Speedup("asyncio", 30))

RING = workload(
    "ring", RATE, "msg/s",
    "{procs:,} processes in a ring, one int token, {laps} laps ({procs:,} x {laps} messages); "
    "timed from the token's first send to its return (ring set up before, untimed)",
    full={"procs": 10_000, "laps": 50}, quick={"procs": 10_000, "laps": 3},
    target=Speedup("asyncio", 30))

SPAWN = workload(
    "spawn", RATE, "proc/s",
    "spawn {procs:,} processes that each send the parent one message and exit; "
    "timed until the parent has received all {procs:,} (asyncio: a bare task each, no Queue)",
    full={"procs": 100_000}, quick={"procs": 5_000},
    target=Speedup("asyncio", 4), erlang="spawn_procs")

FAN_IN = workload(
    "fan-in", RATE, "msg/s",
    "{senders} senders x {each:,} messages (sender, seq) into one receiver that checks "
    "per-sender order; timed from the first spawn to the last receive",
    full={"senders": 100, "each": 10_000}, quick={"senders": 100, "each": 500},
    target=Speedup("asyncio", 4))

REQUEST_REPLY = workload(
    "request-reply", RATE, "call/s",
    "{calls:,} sequential calls on a fresh ref to an echo server (actors: lowlevel.call, "
    "which also monitors and arms a 5 s timeout; asyncio: a future per call; "
    "erlang: make_ref + send + selective receive)",
    full={"calls": 100_000}, quick={"calls": 5_000},
    target=Speedup("asyncio", 10))

REQUEST_REPLY_QUEUED = workload(
    "request-reply-queued", RATE, "call/s",
    "as request-reply, with {queued:,} unrelated messages waiting in the caller's mailbox "
    "(checked still there after)",
    full={"calls": 100_000, "queued": 10_000}, quick={"calls": 5_000, "queued": 10_000},
    target=AllOf(Speedup("asyncio", 10), RelativeTo("request-reply", 0.9)))

TIMERS = workload(
    "timers", RATE, "timer/s",
    "arm {timers:,} send_after to self (delays in [{min_ms}, {max_ms}) ms), cancel every other "
    "one; timed: arming + cancelling; then (untimed) exactly the uncancelled half must arrive "
    "(asyncio: loop.call_later + handle.cancel)",
    full={"timers": 200_000, "min_ms": 500, "max_ms": 1000},
    quick={"timers": 10_000, "min_ms": 100, "max_ms": 200},
    target=Speedup("asyncio", 5))

TIMER_LATENESS = workload(
    "timer-lateness", LATENCY, "ms p50/p99/max",
    "{timers:,} send_after to self, deadlines uniform over {window_ms} ms starting {offset_ms} ms "
    "after arming starts (so arming the burst delays none); lateness = arrival - deadline "
    "(time.monotonic / erlang:monotonic_time)",
    full={"timers": 20_000, "window_ms": 200, "offset_ms": 100},
    quick={"timers": 2_000, "window_ms": 100, "offset_ms": 20},
    target=Lateness(5.0))

MEMORY_IDLE = workload(
    "memory", MEMORY, "B/proc",
    "{procs:,} idle processes parked in receive(), each in a fresh OS process per system: "
    "RSS growth / {procs:,} (asyncio: a Task + a Queue each; erlang: erlang:memory(processes) "
    "growth)",
    full={"procs": 100_000}, quick={"procs": 10_000},
    target=AtMost(512, " B"), isolated=True)

# ----------------------------------------------------------------------------
# OTP layers

GENSERVER_CALL = workload(
    "genserver-call", RATE, "call/s",
    "1 counter server, {calls:,} sequential calls, each replying the incremented count (checked) "
    "(actors: a GenServer subclass, GenServer.call with its default 5 s timeout; asyncio: a Task "
    "with a Queue inbox and a future per call; erlang: a gen_server, gen_server:call; pykka: a "
    "ThreadingActor, ref.ask, only {pykka_calls:,} calls as it is slow: rates are comparable)",
    full={"calls": 100_000, "pykka_calls": 20_000}, quick={"calls": 5_000, "pykka_calls": 2_000},
    target=AllOf(Speedup("asyncio", 8), Speedup("erlang", 1.5), Speedup("pykka", 30)))

GENSERVER_CAST = workload(
    "genserver-cast", RATE, "cast/s",
    "{casts:,} casts to a counter server, then one call that returns the count (checked == "
    "{casts:,}); timed from the first cast to the reply (asyncio: put_nowait into the server "
    "Task's Queue; erlang: gen_server:cast)",
    full={"casts": 1_000_000}, quick={"casts": 50_000},
    target=Speedup("asyncio", 10))

SUPERVISOR_RESTARTS = workload(
    "supervisor-restarts", RATE, "restart/s",
    "a one_for_one supervisor (max_restarts 10^9 in 1 s) restarting a GenServer child that "
    "crashes (raises) right after init, {restarts:,} restarts; each init sends the bench process "
    "a message, counted; crash reports silenced (logger level) in both systems; asyncio: n/a "
    "(no supervisors); erlang: OTP's supervisor filters its list of the restart times inside "
    "the window (lists:takewhile) on every restart, so with every restart inside it that "
    "bookkeeping, quadratic in the count, bounds its rate (a property of OTP's supervisor with "
    "a huge intensity, not of restarting processes)",
    full={"restarts": 20_000}, quick={"restarts": 2_000},
    target=AtLeast(20_000, "/s"))

REGISTRY_LOOKUP = workload(
    "registry-lookup", RATE, "lookup/s",
    "Registry.lookup(reg, key) on a unique registry holding {keys:,} keys (registered by the "
    "bench process), {lookups:,} lookups cycling through the keys, values summed (checked); "
    "the BASELINE COLUMN IS A PLAIN DICT, not asyncio: d[key] on a dict of the same entries, "
    "same loop; erlang: ets:lookup on a set table",
    full={"lookups": 1_000_000, "keys": 1_000}, quick={"lookups": 100_000, "keys": 1_000},
    target=Speedup("asyncio", 1 / 3, text="time <= 3x dict (>= 0.33x)"), baseline="dict")

# ----------------------------------------------------------------------------
# distribution: two nodes, two OS processes, on loopback (issue 11). actors:
# node A is this process (actors.run(..., node=...)), node B a peer node in
# an OS process of its own (actors.peer; impl_dist); erlang: two `erl +S 1
# -hidden` nodes (bench/compare/dist_bench.erl, erlang_cluster.py). A private
# epmd and a random cookie. The Erlang column is BEAM -> BEAM in every row.

#: How every distribution row runs, said after its description.
_NODES = (" [2 nodes, 2 OS processes, loopback; actors: this process + a peer node; "
          "erlang: 2 erl +S 1 nodes]")

_STREAM = ("{messages:,} messages {{seq, N, <<16 bytes>>}} streamed by one process on node A "
           "to one receiver on node B, which checks their order and reports the count when "
           "the last one arrived; timed at the sender, from the first send to that report "
           "(an actors sender yields to the event loop every 1,000 sends, as a long loop "
           "should; the BEAM preempts its own)")

DIST_STREAM = workload(
    "dist-stream", RATE, "msg/s",
    "Python -> Python: " + _STREAM + " (erlang: BEAM -> BEAM)" + _NODES,
    full={"messages": 300_000}, quick={"messages": 20_000},
    target=Speedup("erlang", 2, text=">= 2x BEAM -> BEAM"), erlang="dist_bench:dist_stream")

DIST_STREAM_TO_BEAM = workload(
    "dist-stream-to-beam", RATE, "msg/s",
    "Python -> BEAM: " + _STREAM + "; node B an erl node (erlang: BEAM -> BEAM)" + _NODES,
    full={"messages": 300_000}, quick={"messages": 20_000},
    target=Speedup("erlang", 1, text=">= 1x BEAM -> BEAM"), erlang="dist_bench:dist_stream",
    needs_erlang=True)

DIST_STREAM_FROM_BEAM = workload(
    "dist-stream-from-beam", RATE, "msg/s",
    "BEAM -> Python: " + _STREAM + "; node A an erl node (erlang: BEAM -> BEAM)" + _NODES,
    full={"messages": 300_000}, quick={"messages": 20_000},
    target=Speedup("erlang", 1, text=">= 1x BEAM -> BEAM"), erlang="dist_bench:dist_stream",
    needs_erlang=True)

DIST_PING_PONG = workload(
    "dist-ping-pong", RATE, "round trip/s",
    "{round_trips:,} sequential round trips of an int between a process on node A and one on "
    "node B, each timed (p50/p99 latency beside the rate)" + _NODES,
    full={"round_trips": 20_000}, quick={"round_trips": 2_000},
    target=Speedup("erlang", 1, text=">= 1x BEAM"), erlang="dist_bench:dist_ping_pong")

DIST_GENSERVER_CALL = workload(
    "dist-genserver-call", RATE, "call/s",
    "{calls:,} sequential calls from node A to a counter server registered on node B, by "
    "(name, node), each reply (the incremented count) checked (actors: GenServer.call; "
    "erlang: gen_server:call({{Name, Node}}, incr))" + _NODES,
    full={"calls": 20_000}, quick={"calls": 2_000},
    target=Speedup("erlang", 1, text=">= 1x gen_server:call"),
    erlang="dist_bench:dist_genserver_call")

DIST_FAN_IN = workload(
    "dist-fan-in", RATE, "msg/s",
    "{senders} senders on node A x {each:,} messages (sender, seq) into one receiver on node "
    "B that checks per-sender order and reports the count; timed from the first spawn to "
    "that report (actors' senders yield every 1,000 sends)" + _NODES,
    full={"senders": 100, "each": 3_000}, quick={"senders": 100, "each": 100},
    target=Speedup("erlang", 1, text=">= 1x BEAM"), erlang="dist_bench:dist_fan_in")

DIST_CPU = workload(
    "dist-cpu", RATE, "job/s",
    "{jobs} CPU-bound jobs (a pure-Python loop of {iterations:,} multiply-adds each, "
    "yielding every 100,000, result checked) sent in turn to 2 worker processes, one on each of 2 peer nodes (two more OS "
    "processes: 2 cores; this node only hands out the jobs), timed from the first job sent "
    "to the last result; the BASELINE COLUMN IS ACTORS ON 1 NODE: the same 2 workers in this "
    "process (one core)",
    full={"jobs": 40, "iterations": 1_000_000}, quick={"jobs": 4, "iterations": 100_000},
    target=Speedup("asyncio", 1.8, text=">= 1.8x 1 node"), erlang=None, baseline="1 node")

PING_PONG_NODE = workload(
    "ping-pong-node", RATE, "msg/s",
    "the ping-pong row ({messages:,} local messages) in a runtime that is a node "
    "(actors.run(..., node=...), no connection); the BASELINE COLUMN IS ACTORS WITHOUT A "
    "NODE: the very same run with no node started. Timed in CPU time of this OS process "
    "(time.process_time; the wall-clock rate is in --json), as on a shared machine the "
    "scheduling noise of wall time is larger than the 2% judged",
    full={"messages": 2_000_000}, quick={"messages": 50_000},
    target=Speedup("asyncio", 0.98, text="within 2% of no node (>= 0.98x)"), erlang=None,
    baseline="no node")
