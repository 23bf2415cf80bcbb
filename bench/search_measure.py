"""Times GET /search/photos (q plus a filter) one request at a time; the plain photo listing on
the same library is the reference. Prints p50/p95/p99 per kind of query.

Usage: search_measure.py BASE_URL REQUESTS
"""

import json
import random
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from search_library import CAMERAS, CHINESE, TAGS, WORDS  # noqa: E402


def call(base, path, token=None, body=None):
    req = urllib.request.Request(base + path, method="POST" if body else "GET")
    if body:
        req.data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    base, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(7)
    token = call(base, "/api/v1/auth/login", body={
        "username": "bench", "password": "bench-password-1"})["data"]["access_token"]

    def filt():
        kind = rnd.randrange(5)
        if kind == 0:
            return {"camera": rnd.choice(CAMERAS)[1].split()[-1]}
        if kind == 1:
            y = rnd.randint(2011, 2025)
            return {"start_date": f"{y}-01-01", "end_date": f"{y}-12-31"}
        if kind == 2:
            return {"tags": rnd.choice(TAGS).replace("_", " ")}
        if kind == 3:
            return {"has_location": "true"}
        return {"scope": "family"}

    kinds = {
        "one English word + filter": lambda: {"q": rnd.choice(WORDS), **filt()},
        "two words + filter": lambda: {"q": " ".join(rnd.sample(WORDS, 2)), **filt()},
        "Chinese 2 chars + filter": lambda: {"q": rnd.choice(CHINESE), **filt()},
        "Chinese 4 chars + filter": lambda: {"q": rnd.choice(CHINESE) + rnd.choice(CHINESE),
                                             **filt()},
        "filename fragment + filter": lambda: {"q": f"IMG_{rnd.randint(0, 999):03}", **filt()},
        "reference: GET /photos?per_page=20": None,
    }
    results = {}
    totals = []
    biggest = (0, "")
    for name, make in kinds.items():
        times = []
        for i in range(n + 10):
            if make is None:
                path = "/api/v1/photos?per_page=20"
            else:
                path = "/api/v1/search/photos?" + urllib.parse.urlencode(make())
            t0 = time.perf_counter()
            body = call(base, path, token)
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= 10:  # warm-up
                times.append(elapsed)
                if make is not None:
                    total = body["data"]["pagination"]["total_items"]
                    totals.append(total)
                    biggest = max(biggest, (total, path))
        results[name] = times
    print(f"{'query (one at a time)':36} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, times in results.items():
        print(f"{name:36} {pct(times, 50):8.1f} {pct(times, 95):8.1f} {pct(times, 99):8.1f} "
              f"{max(times):8.1f}")
    search_times = [t for k, v in results.items() if not k.startswith("reference") for t in v]
    print(f"{'all search queries':36} {pct(search_times, 50):8.1f} {pct(search_times, 95):8.1f} "
          f"{pct(search_times, 99):8.1f} {max(search_times):8.1f}")
    print(f"matches per search: median {pct(totals, 50)}, max {biggest[0]} ({biggest[1]})")


if __name__ == "__main__":
    main()
