#!/usr/bin/python3
"""CPython's time for the largest Fibonacci answer, to set beside numsequence-bench-fibonacci.

Computes the first N Fibonacci numbers iteratively and serialises them with json.dumps into
the same bytes the server sends ({"sequence":"fibonacci","n":N,"numbers":[...]}, no spaces);
best of 3. Prints one JSON line with the same field names as numsequence-bench-fibonacci, and
the MD5 of the body, which must equal its body_md5, and the list MD5 (of Python's str() of the
list, the stream's checksum; outside the timing).

    bench/fibonacci_python.py [N]      default 25000
"""

import hashlib
import json
import sys
import time


def first_n(n):
    numbers = []
    a, b = 0, 1
    for _ in range(n):
        numbers.append(a)
        a, b = b, a + b
    return numbers


def body(n):
    return json.dumps({"sequence": "fibonacci", "n": n, "numbers": first_n(n)},
                      separators=(",", ":"))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 25000
    sys.set_int_max_str_digits(0)  # Python 3.11 refuses str() of ints over 4,300 digits
    best = float("inf")
    text = ""
    for _ in range(3):
        start = time.perf_counter()
        text = body(n)
        best = min(best, time.perf_counter() - start)
    # str(list) of integers is the JSON list with ", " between the numbers.
    listed = text[text.index("["):-1].replace(",", ", ")
    print(json.dumps({"n": n, "bytes": len(text), "python_s": round(best, 3),
                      "python_mb_s": round(len(text) / best / 1e6, 1),
                      "body_md5": hashlib.md5(text.encode()).hexdigest(),
                      "list_md5": hashlib.md5(listed.encode()).hexdigest(),
                      "python": sys.version.split()[0]}))


if __name__ == "__main__":
    main()
