%% Erlang/OTP side of `python -m actors bench`.
%%
%% Compiled at bench time with `erlc` into a temporary directory and run with
%% `erl +S 1 -noshell -pa DIR -eval 'bench:serve().'` (one scheduler, like
%% the one-threaded Python runtimes it is compared with).
%%
%% Every workload is one exported function named after the Python workload
%% ("ping-pong" -> ping_pong/1), taking the workload's integer parameters in
%% the order src/actors/benchmarks/workloads.py declares them, and
%% returning a proplist that is printed as one line:
%%
%%     RESULT key=value key=value ...
%%
%% A rate workload returns {elapsed_us, _} and {count, _}: the count is what
%% the processes actually received, checked against what was expected before
%% anything is printed (a missing message is an error, never a faster time).
%%
%% Protocol of serve/0 (serve/1 for another module's workloads, e.g.
%% dist_bench's): one request per line on stdin, "name arg1 arg2 ...";
%% one answer line on stdout, "RESULT ..." or "ERROR ...". "quit" (or end
%% of input) halts. oneshot/1 runs a single request in a fresh VM (used for
%% the memory workload) and halts.
%%
%% The code is plain, idiomatic Erlang: no NIFs, no tricks. The core rows
%% use bare processes; the OTP rows (genserver-call, genserver-cast,
%% supervisor-restarts) use the real gen_server and supervisor behaviours,
%% with this module as their callback module (init/1 tells the three
%% callback roles apart by its argument; the -behaviour attributes are left
%% out because two behaviours in one module both define init/1).
-module(bench).

-export([serve/0, serve/1, oneshot/1]).
-export([ping_pong/1, ring/2, spawn_procs/1, fan_in/2,
         request_reply/1, request_reply_queued/2,
         timers/3, timer_lateness/3, memory/1,
         genserver_call/2, genserver_cast/1, supervisor_restarts/1, registry_lookup/2]).
%% gen_server and supervisor callbacks
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, handle_continue/2]).

%% ---------------------------------------------------------------------
%% driver

serve() -> serve(?MODULE).

%% serve(Module): the same loop for the workloads of another module
%% (dist_bench's, on a distributed node).
serve(Module) ->
    case io:get_line("") of
        eof -> halt(0);
        {error, _} -> halt(1);
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                [] -> serve(Module);
                ["quit"] -> halt(0);
                [Name | Args] ->
                    answer(Module, Name, Args),
                    serve(Module)
            end
    end.

oneshot([Name | Args]) ->
    answer(?MODULE, atom_to_list(Name), [integer_to_list(A) || A <- Args]),
    halt(0).

answer(Module, Name, Args) ->
    Fun = list_to_atom(Name),
    Ints = [list_to_integer(A) || A <- Args],
    %% Each measurement runs in a fresh process so that a previous
    %% measurement's heap and mailbox cannot skew it.
    Parent = self(),
    {Pid, Mref} = spawn_monitor(fun() ->
        garbage_collect(),
        Parent ! {self(), result, apply(Module, Fun, Ints)}
    end),
    receive
        {Pid, result, Props} ->
            erlang:demonitor(Mref, [flush]),
            io:format("RESULT name=~s~s~n", [Name, format_props(Props)]);
        {'DOWN', Mref, process, Pid, Reason} ->
            Msg = lists:flatten(io_lib:format("~p", [Reason])),
            io:format("ERROR name=~s ~s~n", [Name, string:replace(Msg, "\n", " ", all)])
    end.

format_props(Props) ->
    [io_lib:format(" ~s=~w", [K, V]) || {K, V} <- Props].

now_us() -> erlang:monotonic_time(microsecond).

check(What, Got, Expected) ->
    case Got =:= Expected of
        true -> ok;
        false -> exit({missing, What, {got, Got}, {expected, Expected}})
    end.

%% ---------------------------------------------------------------------
%% ping-pong: two processes, Messages one-way messages in all
%% (Messages div 2 round trips). The pinger sends N-1, ..., 0; the ponger
%% echoes each; both check the sequence and count what they received.

ping_pong(Messages) ->
    Rounds = Messages div 2,
    Self = self(),
    Pong = spawn_link(fun() -> pong(Self, Rounds - 1, 0) end),
    T0 = now_us(),
    Got = ping(Pong, Rounds - 1, 0),
    T1 = now_us(),
    PongGot = receive {pong_count, C} -> C end,
    check(ping_received, Got, Rounds),
    check(pong_received, PongGot, Rounds),
    [{elapsed_us, T1 - T0}, {count, Got + PongGot}].

ping(_Pong, -1, Got) -> Got;
ping(Pong, N, Got) ->
    Pong ! N,
    receive
        N -> ping(Pong, N - 1, Got + 1);
        Other -> exit({unexpected, Other, N})
    end.

pong(Peer, Expect, Got) ->
    receive
        Expect ->
            Peer ! Expect,
            case Expect of
                0 -> Peer ! {pong_count, Got + 1};
                _ -> pong(Peer, Expect - 1, Got + 1)
            end;
        Other -> exit({unexpected, Other, Expect})
    end.

%% ---------------------------------------------------------------------
%% ring: Procs processes in a ring, one token, Laps laps
%% (Procs * Laps messages). The token is the hop number; the process that
%% receives hop Procs*Laps reports to the parent. Afterwards (untimed)
%% every node reports how many tokens it received: each must be Laps.

ring(Procs, Laps) ->
    Total = Procs * Laps,
    Self = self(),
    Nodes = [spawn_link(fun() -> ring_setup(Self, Total) end) || _ <- lists:seq(1, Procs)],
    [First | _] = Nodes,
    link_ring(Nodes, First),
    [receive {ready, N} -> ok end || N <- Nodes],
    T0 = now_us(),
    First ! 1,
    Hops = receive {done, H} -> H end,
    T1 = now_us(),
    [N ! stop || N <- Nodes],
    Counts = [receive {count, N, C} -> C end || N <- Nodes],
    check(hops, Hops, Total),
    check(bad_nodes, [C || C <- Counts, C =/= Laps], []),
    [{elapsed_us, T1 - T0}, {count, lists:sum(Counts)}].

link_ring([A, B | Rest], First) -> A ! {next, B}, link_ring([B | Rest], First);
link_ring([Last], First) -> Last ! {next, First}.

ring_setup(Parent, Total) ->
    receive {next, Next} -> Parent ! {ready, self()}, ring_node(Parent, Next, Total, 0) end.

ring_node(Parent, Next, Total, Got) ->
    receive
        Total -> Parent ! {done, Total}, ring_node(Parent, Next, Total, Got + 1);
        stop -> Parent ! {count, self(), Got};
        N -> Next ! N + 1, ring_node(Parent, Next, Total, Got + 1)
    end.

%% ---------------------------------------------------------------------
%% spawn: spawn N processes that each send the parent a message and exit;
%% the parent receives all N (each index once).

spawn_procs(N) ->
    %% A process that is about to receive a flood of messages keeps its
    %% queue off the heap (the documented remedy; with the default on_heap
    %% every GC of the parent copies the growing queue: 6x slower here).
    process_flag(message_queue_data, off_heap),
    Self = self(),
    T0 = now_us(),
    spawn_loop(Self, 0, N),
    Sum = collect(N, 0),
    T1 = now_us(),
    check(index_sum, Sum, N * (N - 1) div 2),
    [{elapsed_us, T1 - T0}, {count, N}].

spawn_loop(_Parent, N, N) -> ok;
spawn_loop(Parent, I, N) ->
    spawn(fun() -> Parent ! I end),
    spawn_loop(Parent, I + 1, N).

collect(0, Sum) -> Sum;
collect(N, Sum) -> receive I when is_integer(I) -> collect(N - 1, Sum + I) end.

%% ---------------------------------------------------------------------
%% fan-in: Senders processes each send Each messages {Idx, Seq} to one
%% receiver, which checks per-sender order and counts.

fan_in(Senders, Each) ->
    process_flag(message_queue_data, off_heap),
    Self = self(),
    T0 = now_us(),
    [spawn_link(fun() -> send_loop(Self, Idx, 0, Each) end) || Idx <- lists:seq(0, Senders - 1)],
    Counts = fan_in_recv(Senders * Each, maps:from_list([{I, 0} || I <- lists:seq(0, Senders - 1)])),
    T1 = now_us(),
    check(per_sender, lists:usort(maps:values(Counts)), [Each]),
    [{elapsed_us, T1 - T0}, {count, lists:sum(maps:values(Counts))}].

send_loop(_To, _Idx, Each, Each) -> ok;
send_loop(To, Idx, Seq, Each) ->
    To ! {Idx, Seq},
    send_loop(To, Idx, Seq + 1, Each).

fan_in_recv(0, Counts) -> Counts;
fan_in_recv(Left, Counts) ->
    receive
        {Idx, Seq} ->
            case Counts of
                #{Idx := Seq} -> fan_in_recv(Left - 1, Counts#{Idx := Seq + 1});
                _ -> exit({out_of_order, Idx, Seq})
            end
    end.

%% ---------------------------------------------------------------------
%% request/reply: N calls on a fresh ref (make_ref + send + selective
%% receive on the ref: the compiler's receive-marker optimisation applies),
%% against a server that answers {Ref, Request}. The queued variant first
%% puts Queued unrelated messages in the caller's mailbox (checked after).

request_reply(N) ->
    Server = spawn_link(fun server/0),
    T0 = now_us(),
    Got = call_loop(Server, 0, N, 0),
    T1 = now_us(),
    check(replies, Got, N),
    [{elapsed_us, T1 - T0}, {count, Got}].

request_reply_queued(N, Queued) ->
    process_flag(message_queue_data, off_heap),
    Server = spawn_link(fun server/0),
    Self = self(),
    [Self ! {junk, I} || I <- lists:seq(1, Queued)],
    T0 = now_us(),
    Got = call_loop(Server, 0, N, 0),
    T1 = now_us(),
    {message_queue_len, Left} = process_info(self(), message_queue_len),
    check(replies, Got, N),
    check(junk_still_queued, Left, Queued),
    [{elapsed_us, T1 - T0}, {count, Got}].

call_loop(_Server, N, N, Got) -> Got;
call_loop(Server, I, N, Got) ->
    case call(Server, I) of
        I -> call_loop(Server, I + 1, N, Got + 1);
        Other -> exit({bad_reply, Other, I})
    end.

call(Server, Request) ->
    Ref = make_ref(),
    Server ! {'$gen_call', {self(), Ref}, Request},
    receive
        {Ref, Reply} -> Reply
    end.

server() ->
    receive
        {'$gen_call', {From, Ref}, Request} ->
            From ! {Ref, Request},
            server()
    end.

%% ---------------------------------------------------------------------
%% timers: arm N erlang:send_after timers to self (delays spread over
%% [MinMs, MaxMs)), cancel every even-numbered one (timed), then receive
%% the N/2 that fire (untimed) and check that exactly those arrived.

timers(N, MinMs, MaxMs) ->
    Self = self(),
    Span = MaxMs - MinMs,
    Delays = [MinMs + rand:uniform(Span) - 1 || _ <- lists:seq(1, N)],
    T0 = now_us(),
    Refs = arm(Self, Delays, 0, []),
    Cancelled = cancel_even(Refs, 0),
    T1 = now_us(),
    check(cancelled, Cancelled, (N + 1) div 2),
    Fired = receive_fired(N div 2, 0, MaxMs + 5000),
    check(fired, Fired, N div 2),
    receive {timer, Late} -> exit({cancelled_timer_fired, Late}) after 50 -> ok end,
    [{elapsed_us, T1 - T0}, {count, N}].

arm(_Self, [], _I, Acc) -> lists:reverse(Acc);
arm(Self, [D | Ds], I, Acc) ->
    arm(Self, Ds, I + 1, [erlang:send_after(D, Self, {timer, I}) | Acc]).

cancel_even([], C) -> C;
cancel_even([R], C) -> cancel_one(R, C);
cancel_even([R, _ | Rs], C) -> cancel_even(Rs, cancel_one(R, C)).

cancel_one(R, C) ->
    case erlang:cancel_timer(R) of
        false -> C;
        _Left -> C + 1
    end.

receive_fired(0, Got, _) -> Got;
receive_fired(Left, Got, Wait) ->
    receive
        {timer, I} when I rem 2 =:= 1 -> receive_fired(Left - 1, Got + 1, Wait);
        {timer, I} -> exit({cancelled_timer_fired, I})
    after Wait -> Got
    end.

%% timer-lateness: N send_after to self, deadlines uniform in a WindowMs
%% window that starts OffsetMs after arming starts (so arming the burst
%% does not make the first timers late). Each message carries its
%% deadline; lateness = arrival - deadline, in microseconds.

timer_lateness(N, WindowMs, OffsetMs) ->
    Self = self(),
    Start = now_us() + OffsetMs * 1000,
    arm_deadlines(Self, Start, N, WindowMs),
    ArmedAt = now_us(),
    Late = lists:sort(collect_lateness(N, [])),
    [{count, length(Late)},
     {early, length([L || L <- Late, L < 0])},
     {p50_us, pct(Late, 0.50)},
     {p99_us, pct(Late, 0.99)},
     {max_us, lists:last(Late)},
     {arm_overran_us, max(0, ArmedAt - Start)}].

arm_deadlines(_Self, _Start, 0, _WindowMs) -> ok;
arm_deadlines(Self, Start, K, WindowMs) ->
    Deadline = Start + rand:uniform(WindowMs + 1) * 1000 - 1000,
    %% erlang:send_after takes whole milliseconds: round up, never early.
    Delay = max(0, (Deadline - now_us() + 999) div 1000),
    erlang:send_after(Delay, Self, {deadline, Deadline}),
    arm_deadlines(Self, Start, K - 1, WindowMs).

collect_lateness(0, Acc) -> Acc;
collect_lateness(K, Acc) ->
    receive
        {deadline, D} -> collect_lateness(K - 1, [now_us() - D | Acc])
    after 10000 -> exit({missing_timers, K})
    end.

pct(Sorted, P) ->
    Len = length(Sorted),
    lists:nth(max(1, min(Len, round(P * (Len - 1)) + 1)), Sorted).

%% ---------------------------------------------------------------------
%% memory: N idle processes parked in receive; bytes per process from the
%% growth of erlang:memory(processes), and process_info(P, memory) of one
%% of them as a cross-check.

memory(N) ->
    Self = self(),
    garbage_collect(),
    Before = erlang:memory(processes),
    spawn_idle(Self, N),
    {Ready, Sample} = count_ready(N, 0, undefined),
    check(ready, Ready, N),
    garbage_collect(),
    After = erlang:memory(processes),
    {memory, One} = process_info(Sample, memory),
    [{count, N},
     {bytes_per_process, (After - Before) div N},
     {process_info_bytes, One}].

spawn_idle(_Parent, 0) -> ok;
spawn_idle(Parent, K) ->
    spawn(fun() -> Parent ! {ready, self()}, receive stop -> ok end end),
    spawn_idle(Parent, K - 1).

count_ready(0, Got, Sample) -> {Got, Sample};
count_ready(K, Got, _) ->
    receive {ready, P} -> count_ready(K - 1, Got + 1, P) after 10000 -> {Got, undefined} end.

%% ---------------------------------------------------------------------
%% OTP layers. The callbacks below serve two gen_servers and a supervisor:
%%   init(counter)           a counter: call incr -> new count, call get ->
%%                           count, cast -> count + 1;
%%   init({crasher, Parent}) tells Parent it started, then crashes in
%%                           handle_continue (right after init);
%%   init({crash_sup, Parent}) a one_for_one supervisor of one crasher.

init(counter) ->
    {ok, 0};
init({crasher, Parent}) ->
    Parent ! started,
    {ok, Parent, {continue, crash}};
init({crash_sup, Parent}) ->
    Child = #{id => crasher,
              start => {gen_server, start_link, [?MODULE, {crasher, Parent}, []]},
              restart => permanent},
    {ok, {#{strategy => one_for_one, intensity => 1000000000, period => 1}, [Child]}}.

handle_call(incr, _From, N) -> {reply, N + 1, N + 1};
handle_call(get, _From, N) -> {reply, N, N}.

handle_cast(incr, N) -> {noreply, N + 1}.

handle_info(Msg, State) -> exit({unexpected_message, Msg, State}).

handle_continue(crash, _Parent) -> erlang:error(crash).

%% genserver-call: Calls sequential gen_server:call(Pid, incr), each reply
%% checked (the second parameter is pykka's smaller count, unused here).

genserver_call(Calls, _PykkaCalls) ->
    {ok, Pid} = gen_server:start_link(?MODULE, counter, []),
    T0 = now_us(),
    Got = gs_call_loop(Pid, 1, Calls, 0),
    T1 = now_us(),
    ok = gen_server:stop(Pid),
    check(replies, Got, Calls),
    [{elapsed_us, T1 - T0}, {count, Got}].

gs_call_loop(_Pid, I, N, Got) when I > N -> Got;
gs_call_loop(Pid, I, N, Got) ->
    case gen_server:call(Pid, incr) of
        I -> gs_call_loop(Pid, I + 1, N, Got + 1);
        Other -> exit({unexpected_reply, Other, I})
    end.

%% genserver-cast: Casts gen_server:cast(Pid, incr), then one call for the
%% count, which must be Casts.

genserver_cast(Casts) ->
    {ok, Pid} = gen_server:start_link(?MODULE, counter, []),
    T0 = now_us(),
    gs_cast_loop(Pid, Casts),
    Count = gen_server:call(Pid, get, 60000),
    T1 = now_us(),
    ok = gen_server:stop(Pid),
    check(server_count, Count, Casts),
    [{elapsed_us, T1 - T0}, {count, Count}].

gs_cast_loop(_Pid, 0) -> ok;
gs_cast_loop(Pid, K) ->
    gen_server:cast(Pid, incr),
    gs_cast_loop(Pid, K - 1).

%% supervisor-restarts: a one_for_one supervisor restarting a gen_server
%% that crashes right after init, Restarts times (each init sends
%% `started`, counted). The crash and supervisor reports are silenced for
%% the run (primary logger level none; restored after), as the Python side
%% silences its "actors" logger: otherwise formatting them is what is
%% measured (and they would go to stdout, the protocol channel).

supervisor_restarts(Restarts) ->
    #{level := Level} = logger:get_primary_config(),
    ok = logger:set_primary_config(level, none),
    try
        sup_restarts(Restarts)
    after
        logger:set_primary_config(level, Level)
    end.

sup_restarts(Restarts) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {crash_sup, self()}),
    receive started -> ok after 10000 -> exit(no_first_start) end,
    T0 = now_us(),
    Got = count_started(Restarts, 0),
    T1 = now_us(),
    Alive = is_process_alive(Sup),
    ok = gen_server:stop(Sup),
    flush_started(),
    check(supervisor_alive, Alive, true),
    check(restarts, Got, Restarts),
    [{elapsed_us, T1 - T0}, {count, Got}].

count_started(0, Got) -> Got;
count_started(K, Got) ->
    receive
        started -> count_started(K - 1, Got + 1);
        Other -> exit({unexpected, Other})
    after 10000 -> Got
    end.

flush_started() ->
    receive
        started -> flush_started();
        Other -> exit({unexpected, Other})
    after 0 -> ok
    end.

%% registry-lookup: Erlang has no Registry (Elixir's is built on ETS), so
%% this is its table: ets:lookup on a set of Keys entries {Key, Owner,
%% Value} (key i: <<"key", i>>, value i), Lookups lookups cycling through
%% the keys, values summed and checked.

registry_lookup(Lookups, Keys) ->
    Tab = ets:new(bench_registry, [set, protected]),
    Names = [list_to_binary("key" ++ integer_to_list(I)) || I <- lists:seq(0, Keys - 1)],
    Self = self(),
    true = ets:insert(Tab, [{K, Self, I} || {K, I} <- lists:zip(Names, lists:seq(0, Keys - 1))]),
    Laps = Lookups div Keys,
    Rest = Lookups rem Keys,
    T0 = now_us(),
    Sum0 = lookup_laps(Tab, Names, Laps, 0),
    Sum = lookup_keys(Tab, lists:sublist(Names, Rest), Sum0),
    T1 = now_us(),
    ets:delete(Tab),
    check(value_sum, Sum, Laps * (Keys * (Keys - 1) div 2) + Rest * (Rest - 1) div 2),
    [{elapsed_us, T1 - T0}, {count, Lookups}].

lookup_laps(_Tab, _Names, 0, Sum) -> Sum;
lookup_laps(Tab, Names, Laps, Sum) ->
    lookup_laps(Tab, Names, Laps - 1, lookup_keys(Tab, Names, Sum)).

lookup_keys(_Tab, [], Sum) -> Sum;
lookup_keys(Tab, [K | Ks], Sum) ->
    [{_, _, V}] = ets:lookup(Tab, K),
    lookup_keys(Tab, Ks, Sum + V).
