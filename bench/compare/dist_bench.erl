%% Erlang/OTP side of the distribution rows of `python -m actors bench`.
%%
%% Two nodes, A and B, each `erl +S 1 -noshell -name ... -setcookie ...
%% -hidden` on loopback with a private epmd, both running
%% `dist_bench:serve()` (bench:serve/1: one request per line on stdin,
%% "name arg ...", answered "RESULT key=value ..." or "ERROR ...") and
%% started with `-dist_bench_peer OtherNode`. The driver is
%% bench/compare/erlang_cluster.py.
%%
%% The dist_* functions are the BEAM -> BEAM versions of the rows, asked of
%% node A; the work crosses to node B (connected before the clock starts).
%% Each counts what was actually received on the receiving side, and a
%% missing or out-of-order message is an error, never a faster time.
%%
%% sink_start/0 and source_start/0 serve the rows where one end is a Python
%% node: asked of node B, they register a process there that the Python
%% node talks to (see the protocol below), then answer at once.
%%
%% The stream protocol (the same in Python, impl_dist.py):
%%   source -> sink:  {start, Source, N}, then N x {seq, I, <<16 bytes>>}, I = 0..N-1
%%   sink -> source:  {done, Count} once the N-th arrived (each checked in order)
%% The source times from before `start` to the receipt of `done`.
%% A registered sink (dist_bench_sink) first answers {whois, From} with
%% {sink, Pid}. A registered source (dist_bench_source) waits for {go, Sink, N, ReplyTo},
%% streams to Sink and answers ReplyTo {result, Count, ElapsedMicroseconds}.
-module(dist_bench).

-export([serve/0]).
-export([ready/0, connect/0, dist_stream/1, dist_ping_pong/1, dist_genserver_call/1, dist_fan_in/2,
         sink_start/0, source_start/0]).
%% spawned on the peer node
-export([sink/0, pong/1, fan_in_sink/3]).

-define(PAYLOAD, <<240, 241, 242, 243, 244, 245, 246, 247,
                   248, 249, 250, 251, 252, 253, 254, 255>>).
-define(WAIT_MS, 120000).

serve() -> bench:serve(?MODULE).

now_us() -> erlang:monotonic_time(microsecond).

check(What, Got, Expected) ->
    case Got =:= Expected of
        true -> ok;
        false -> exit({missing, What, {got, Got}, {expected, Expected}})
    end.

%% The other node of the pair (-dist_bench_peer), connected.
peer() ->
    {ok, [[Name]]} = init:get_argument(dist_bench_peer),
    Peer = list_to_atom(Name),
    case net_kernel:connect_node(Peer) of
        true -> Peer;
        Other -> exit({cannot_connect, Peer, Other})
    end.

%% Answers once this node is up (distribution started, serving requests).
ready() -> [{ready, 1}].

%% Connect to the peer (the driver's check, once both are ready).
connect() ->
    peer(),
    [{connected, 1}].

%% ---------------------------------------------------------------------
%% stream: one process on A streams Messages {seq, I, <<16 bytes>>} to a
%% sink on B.

dist_stream(Messages) ->
    {Sink, Mref} = spawn_monitor(peer(), ?MODULE, sink, []),
    {Count, Us} = stream_to(Sink, Mref, Messages),
    check(received, Count, Messages),
    [{elapsed_us, Us}, {count, Count}].

%% Stream to Sink (monitored with Mref): {Count it reported, microseconds}.
stream_to(Sink, Mref, N) ->
    Payload = ?PAYLOAD,
    T0 = now_us(),
    Sink ! {start, self(), N},
    send_seq(Sink, 0, N, Payload),
    Count = receive
                {done, C} -> C;
                {'DOWN', Mref, process, _, Reason} -> exit({sink_down, Reason})
            after ?WAIT_MS -> exit(no_done_from_sink)
            end,
    T1 = now_us(),
    demonitor(Mref, [flush]),
    {Count, T1 - T0}.

send_seq(_Sink, N, N, _Payload) -> ok;
send_seq(Sink, I, N, Payload) ->
    Sink ! {seq, I, Payload},
    send_seq(Sink, I + 1, N, Payload).

%% A flood receiver keeps its queue off the heap (as in bench.erl).
sink() ->
    process_flag(message_queue_data, off_heap),
    receive
        {start, From, N} -> sink(From, 0, N)
    after ?WAIT_MS -> exit(no_start)
    end.

sink(From, N, N) -> From ! {done, N};
sink(From, I, N) ->
    receive
        {seq, I, <<_:16/binary>>} -> sink(From, I + 1, N);
        Other -> exit({unexpected, Other, {expected_seq, I}})
    after ?WAIT_MS -> exit({missing_seq, I})
    end.

%% For Python -> BEAM: a sink registered as dist_bench_sink on this node.
%% It first answers {whois, From} with {sink, self()} (untimed: the Python
%% source then sends to the pid, as BEAM's source does).
sink_start() ->
    Pid = spawn(fun() ->
        receive
            {whois, From} -> From ! {sink, self()}, sink()
        after ?WAIT_MS -> exit(no_whois)
        end
    end),
    register_fresh(dist_bench_sink, Pid),
    [{registered, 1}].

%% For BEAM -> Python: a source registered as dist_bench_source on this node.
source_start() ->
    Pid = spawn(fun() ->
        receive
            {go, Sink, N, ReplyTo} ->
                {Count, Us} = stream_to(Sink, monitor(process, Sink), N),
                ReplyTo ! {result, Count, Us}
        after ?WAIT_MS -> exit(no_go)
        end
    end),
    register_fresh(dist_bench_source, Pid),
    [{registered, 1}].

%% Register Pid as Name, ending a leftover of a failed run first.
register_fresh(Name, Pid) ->
    case whereis(Name) of
        undefined -> ok;
        Old ->
            Ref = monitor(process, Old),
            exit(Old, kill),
            receive {'DOWN', Ref, process, Old, _} -> ok end
    end,
    true = register(Name, Pid).

%% ---------------------------------------------------------------------
%% ping-pong: RoundTrips sequential round trips of an integer between a
%% pinger on A and a ponger on B, each round trip timed.

dist_ping_pong(RoundTrips) ->
    {Pong, Mref} = spawn_monitor(peer(), ?MODULE, pong, [self()]),
    T0 = now_us(),
    Lat = ping(Pong, 0, RoundTrips, []),
    T1 = now_us(),
    Pong ! stop,
    PongGot = receive
                  {pong_count, C} -> C;
                  {'DOWN', Mref, process, _, Reason} -> exit({pong_down, Reason})
              after ?WAIT_MS -> exit(no_pong_count)
              end,
    demonitor(Mref, [flush]),
    check(pong_received, PongGot, RoundTrips),
    Sorted = lists:sort(Lat),
    [{elapsed_us, T1 - T0}, {count, length(Lat)},
     {p50_ns, to_ns(pct(Sorted, 0.50))}, {p99_ns, to_ns(pct(Sorted, 0.99))}].

ping(_Pong, N, N, Acc) -> Acc;
ping(Pong, I, N, Acc) ->
    T = erlang:monotonic_time(),
    Pong ! I,
    receive
        I -> ping(Pong, I + 1, N, [erlang:monotonic_time() - T | Acc]);
        Other -> exit({unexpected, Other, I})
    after ?WAIT_MS -> exit({no_pong, I})
    end.

pong(Pinger) -> pong(Pinger, 0).

pong(Pinger, Got) ->
    receive
        stop -> Pinger ! {pong_count, Got};
        I when is_integer(I) -> Pinger ! I, pong(Pinger, Got + 1)
    end.

to_ns(Native) -> erlang:convert_time_unit(Native, native, nanosecond).

pct(Sorted, P) ->
    Len = length(Sorted),
    lists:nth(max(1, min(Len, round(P * (Len - 1)) + 1)), Sorted).

%% ---------------------------------------------------------------------
%% genserver-call: a counter gen_server registered on B (bench's
%% callbacks, as in the local row), Calls sequential
%% gen_server:call({dist_bench_counter, B}, incr) from A, each reply checked.

dist_genserver_call(Calls) ->
    Peer = peer(),
    {ok, _} = rpc:call(Peer, gen_server, start, [{local, dist_bench_counter}, bench, counter, []]),
    Server = {dist_bench_counter, Peer},
    T0 = now_us(),
    Got = call_loop(Server, 1, Calls, 0),
    T1 = now_us(),
    ok = gen_server:stop(Server),
    check(replies, Got, Calls),
    [{elapsed_us, T1 - T0}, {count, Got}].

call_loop(_Server, I, N, Got) when I > N -> Got;
call_loop(Server, I, N, Got) ->
    case gen_server:call(Server, incr) of
        I -> call_loop(Server, I + 1, N, Got + 1);
        Other -> exit({unexpected_reply, Other, I})
    end.

%% ---------------------------------------------------------------------
%% fan-in: Senders processes on A each send Each messages {Idx, Seq} to one
%% receiver on B, which checks per-sender order and reports the count;
%% timed from the first spawn to the report.

dist_fan_in(Senders, Each) ->
    {Sink, Mref} = spawn_monitor(peer(), ?MODULE, fan_in_sink, [self(), Senders, Each]),
    T0 = now_us(),
    [spawn_link(fun() -> send_loop(Sink, Idx, 0, Each) end) || Idx <- lists:seq(0, Senders - 1)],
    Count = receive
                {fan_in_done, C} -> C;
                {'DOWN', Mref, process, _, Reason} -> exit({sink_down, Reason})
            after ?WAIT_MS -> exit(no_fan_in_done)
            end,
    T1 = now_us(),
    demonitor(Mref, [flush]),
    check(received, Count, Senders * Each),
    [{elapsed_us, T1 - T0}, {count, Count}].

send_loop(_To, _Idx, Each, Each) -> ok;
send_loop(To, Idx, Seq, Each) ->
    To ! {Idx, Seq},
    send_loop(To, Idx, Seq + 1, Each).

fan_in_sink(ReplyTo, Senders, Each) ->
    process_flag(message_queue_data, off_heap),
    Counts = fan_in_recv(Senders * Each, maps:from_list([{I, 0} || I <- lists:seq(0, Senders - 1)])),
    check(per_sender, lists:usort(maps:values(Counts)), [Each]),
    ReplyTo ! {fan_in_done, lists:sum(maps:values(Counts))}.

fan_in_recv(0, Counts) -> Counts;
fan_in_recv(Left, Counts) ->
    receive
        {Idx, Seq} ->
            case Counts of
                #{Idx := Seq} -> fan_in_recv(Left - 1, Counts#{Idx := Seq + 1});
                _ -> exit({out_of_order, Idx, Seq})
            end
    after ?WAIT_MS -> exit({missing, Left})
    end.
