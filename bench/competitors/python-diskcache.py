"""The python-diskcache side of the python-diskcache competitor (bench/competitors/python-diskcache.ts).

    python3 python-diskcache.py serve        one JSON request a line on stdin, one JSON answer a line on stdout
    python3 python-diskcache.py cold-open DIR KEY   times `import diskcache`, then Cache(DIR) + get(KEY)

Requests: {"cmd": "open", "dir": D}, {"cmd": "fill", "entries": [[k, v], ...]},
{"cmd": "loop", "plan": P, "budgetMs": B}, {"cmd": "close"}. Each timed loop runs here, timed as
bench/lib.ts `measure` times its loops (a clock read before and after every call, the loop's time
from its first to its last call, a stop once it has run for B ms after at least 10 calls), so that
the pipe is not counted. A loop answers {"calls", "ms", "latenciesUs", "returned"}: per-call times
in microseconds and, where the benchmark checks it, what each call returned (for get, the length of
the value or null). Default Cache options (as a python-diskcache user gets them); the sync API.
"""

import json
import sys
import time


def measure(n, call, budget_ms):
    now = time.perf_counter
    lat = [0.0] * n
    start = now()
    # No budget (null in JSON, for Infinity): the whole loop.
    stop = float('inf') if budget_ms is None else start + budget_ms / 1000
    i = 0
    while i < n:
        t = now()
        if t > stop and i >= 10:
            break
        call(i)
        lat[i] = (now() - t) * 1e6
        i += 1
    ms = (now() - start) * 1000
    return {'calls': i, 'ms': ms, 'latenciesUs': lat[:i]}


def run_loop(cache, plan, budget_ms):
    op = plan['op']
    returned = []
    keep = returned.append
    if op == 'set':
        keys, values = plan['keys'], plan['values']

        def call(i):
            cache.set(keys[i], values[i])

        n = len(keys)
    elif op == 'get':
        keys = plan['keys']

        def call(i):
            v = cache.get(keys[i])
            keep(None if v is None else len(v))

        n = len(keys)
    elif op == 'delete':
        keys = plan['keys']

        def call(i):
            cache.delete(keys[i])

        n = len(keys)
    elif op == 'add':
        keys, values = plan['keys'], plan['values']

        def call(i):
            keep(cache.add(keys[i], values[i]))

        n = len(keys)
    elif op == 'incr':
        key, delta = plan['key'], plan.get('delta', 1)

        def call(i):
            keep(cache.incr(key, delta))

        n = plan['count']
    elif op == 'setMany':
        batches = plan['batches']

        def call(i):
            with cache.transact():
                for k, v in batches[i]:
                    cache.set(k, v)

        n = len(batches)
    else:
        raise ValueError(f'unknown op {op}')
    result = measure(n, call, budget_ms)
    result['returned'] = returned
    return result


def serve():
    cache = None
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request['cmd']
        try:
            if cmd == 'open':
                from diskcache import Cache

                cache = Cache(request['dir'])
                answer = {'ok': True}
            elif cmd == 'fill':
                with cache.transact():
                    for k, v in request['entries']:
                        cache.set(k, v)
                answer = {'ok': True}
            elif cmd == 'loop':
                answer = run_loop(cache, request['plan'], request.get('budgetMs'))
            elif cmd == 'close':
                if cache is not None:
                    cache.close()
                out.write('{"ok": true}\n')
                out.flush()
                return
            else:
                raise ValueError(f'unknown command {cmd}')
        except Exception as error:  # reported to the driver, which throws it
            answer = {'error': f'{type(error).__name__}: {error}'}
        out.write(json.dumps(answer))
        out.write('\n')
        out.flush()


def cold_open(directory, key):
    t0 = time.perf_counter()
    from diskcache import Cache

    t1 = time.perf_counter()
    cache = Cache(directory)
    got = cache.get(key)
    t2 = time.perf_counter()
    cache.close()
    print(json.dumps({
        'importMs': (t1 - t0) * 1000,
        'openGetMs': (t2 - t1) * 1000,
        'length': None if got is None else len(got),
    }))


if __name__ == '__main__':
    mode = sys.argv[1] if len(sys.argv) > 1 else 'serve'
    if mode == 'serve':
        serve()
    elif mode == 'cold-open':
        cold_open(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f'unknown mode {mode}')
