#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ (run from anywhere; overwrites them).

fuzz_codec inputs: byte 0 picks the frame limit (0x80 and above: 256, else the byte
itself), byte 1 seeds how the stream is cut into reads, the rest is the byte stream.

fuzz_http inputs: byte 0 seeds how the stream is cut into reads, byte 1 is the route limit
(max_fibonacci, modulo 101), byte 2 picks small parser limits and streamed bodies (see
fuzz_http.cpp), the rest is one connection's bytes: real requests, pipelined or alone.

fuzz_session_rules inputs are read by FuzzedDataProvider: strings from the front,
every other choice from the back. The encoder below mirrors fuzz_session_rules.cpp's
order of choices, so each seed walks a meaningful path (the reference scenarios, a
takeover, store failures); libFuzzer mutates from there.
"""

import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"
GOLDEN = "123e4567-e89b-12d3-a456-426614174000"
GOLDEN_FAC = "f90b20dae8c9b7d7be2a5fb7cc856e8b"


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def codec(name, stream, limit=0x80, cut=0):
    if isinstance(stream, str):
        stream = stream.encode("latin-1")
    write("fuzz_codec", name, bytes([limit, cut]) + stream)


def codec_corpus():
    init = f"INIT,{GOLDEN},5,5;"
    codec("scenario1_client", init + "RECV,0;FIN;")
    codec("scenario1_client_bytewise", init + "RECV,0;FIN;", cut=64)  # reads of 1 byte
    codec("scenario1_server", f"ACK;NUM,6:41:81:68:68;FAC,{GOLDEN_FAC};")
    codec("scenario2_server", f"ERR,{GOLDEN} already exist;")
    codec("scenario4_client", f"CONT,{GOLDEN};FIN;")
    codec("scenario5_server", f"ERR,Client-id: {GOLDEN} does not exist;")
    codec("nc_separators", f"\r\n {init}\r\nRECV,0;\n\nFIN;\r\n", cut=7)
    codec("recv_many", "".join(f"RECV,{k};" for k in range(12)), cut=3)
    codec("recv_invalid_index", "RECV,2;ERR,Invalid batch index requested: 2;")
    codec("recv_u64_max", "RECV,18446744073709551615;")
    codec("recv_u64_max_plus_one", "RECV,18446744073709551616;")
    codec("recv_25_digits", "RECV," + "9" * 25 + ";")
    codec("recv_leading_zeros", "RECV," + "0" * 24 + "1;RECV,000;")
    codec("init_upper_case_id", "INIT,123E4567-E89B-12D3-A456-426614174000,65535,65535;")
    codec("init_n0", f"INIT,{GOLDEN},0,1;FIN;")
    codec("num_empty_and_max", "NUM,;NUM,4294967295:0:1;")
    codec("num_overflow", "NUM,4294967296;")
    codec("num_double_colon", "NUM,1::2;NUM,1:;")
    codec("fac_upper", "FAC,F90B20DAE8C9B7D7BE2A5FB7CC856E8B;")
    codec("err_forms", "ERR;ERR,;ERR,a,b,c;ACK,;")
    codec("empty_messages", ";;;  ;")
    codec("unknown_and_lower", "HELO,1;init,x;Recv,0;fin;")
    codec("init_kinds", f"INIT,{GOLDEN},10,7,fibonacci;INIT,{GOLDEN},5,5,random;"
          f"INIT,{GOLDEN},5,5,primes;INIT,{GOLDEN},5,5,;INIT,{GOLDEN},5,5,FIBONACCI;")
    codec("num_fibonacci", "NUM,135301852344706746049:218922995834555169026;NUM,0:1:1:2:3:5:8;")
    codec("bad_uuids", f"CONT,{GOLDEN[:-1]}z;CONT,{GOLDEN.replace('-', '')};CONT,;")
    codec("signed_numbers", f"INIT,{GOLDEN},+5,-5;RECV,-1;RECV,+0;RECV, 1;RECV,1 ;RECV,0x10;")
    codec("field_counts", f"INIT,{GOLDEN},5;INIT,{GOLDEN},5,5,5;CONT;RECV;RECV,1,2;FIN,;")
    codec("nul_and_binary", b"IN\x00IT,1;\x01\x02\xff\xfe\x80;\x7f;")
    codec("utf8_in_id", "CONT,123e4567-e89b-12d3-a456-42661417400\u00e9;".encode("utf-8"))
    codec("too_long_no_semicolon", "A" * 300)
    codec("exactly_256", "R" * 256 + ";" + "S" * 257 + ";")
    codec("digits_past_limit", "RECV," + "1" * 400 + ";")
    codec("small_limit_frames", "FIN;ACK;RECV,0;", limit=6)
    codec("zero_limit", ";;;x;", limit=0)
    codec("whitespace_only", " \r\n" * 100, cut=5)


class Provider:
    """Builds FuzzedDataProvider input in the order the target consumes it."""

    def __init__(self):
        self.front = bytearray()
        self.tail = []  # bytes in consumption order; written reversed at the end

    def integral(self, value, lo, hi, width):
        span = hi - lo
        value -= lo
        assert 0 <= value <= span
        count, offset = 0, 0
        while offset < width * 8 and (span >> offset) > 0:
            count += 1
            offset += 8
        # The first byte consumed is the most significant.
        for i in reversed(range(count)):
            self.tail.append((value >> (8 * i)) & 0xFF)

    def boolean(self, value):
        self.tail.append(1 if value else 0)

    def u64(self, value):
        self.integral(value, 0, 2**64 - 1, 8)

    def string(self, text):
        self.front += text.encode("latin-1").replace(b"\\", b"\\\\") + b"\\x"

    def data(self):
        return bytes(self.front) + bytes(reversed(self.tail))


class Script:
    """Events in fuzz_session_rules.cpp's vocabulary."""

    IDS = {GOLDEN: 0, GOLDEN.upper(): 1, "00000000-0000-4000-8000-000000000001": 2}

    def __init__(self, test_mode=True, salt=0x5EED):
        self.p = Provider()
        self.p.boolean(test_mode)
        self.p.u64(salt)
        self.p.u64(7)

    def _id(self, id_text):
        self.p.integral(1, 0, 7, 4)  # from the pool
        self.p.integral(self.IDS[id_text], 0, 3, 8)

    def _batch(self, batch):
        if batch == 1:
            self.p.integral(0, 0, 3, 4)
        elif batch == 65535:
            self.p.integral(1, 0, 3, 4)
        else:
            self.p.integral(2, 0, 3, 4)
            self.p.integral(batch, 1, 64, 4)

    def _status(self, status):
        self.p.integral({"ok": 3, "exists": 0, "not_found": 1, "unavailable": 2}[status], 0, 7, 4)

    def raw(self, frame, status=None):
        """A frame through the codec; `status` answers the store operation it triggers."""
        self.p.integral(0, 0, 11, 4)
        self.p.string(frame)
        if status is not None:
            self._status(status)
        return self

    def decode_error(self, errc):
        self.p.integral(2, 0, 11, 4)
        self.p.integral(errc, 1, 13, 4)
        return self

    def init(self, id_text, n, batch, status="ok"):
        self.p.integral(3, 0, 11, 4)
        self._id(id_text)
        self.p.integral(n, 0, 300, 4)
        self._batch(batch)
        if status is not None:  # None: no store operation follows (the INIT is refused)
            self._status(status)
        return self

    def cont(self, id_text, status="ok", previous=0, record=None):
        self.p.integral(4, 0, 11, 4)
        self._id(id_text)
        if status is None:  # no store operation follows (the CONT is refused)
            return self
        self._status(status)
        self.p.boolean(previous != 0)
        if previous:
            self.p.u64(previous)
        if status == "ok":
            mode, seed, n, batch, completed = record
            self.p.integral({"normal": 0, "test": 1, "fibonacci": 2}[mode], 0, 2, 4)
            self.p.u64(seed)
            self.p.integral(n, 0, 300, 4)
            self._batch(batch)
            self.p.boolean(completed is not None)
            if completed is not None:
                for b in bytes.fromhex(completed):
                    self.p.integral(b, 0, 255, 1)
        return self

    def recv(self, index):
        self.p.integral(5, 0, 11, 4)
        self.p.integral(3, 0, 5, 4)  # an index in 0 .. batch_count + 1
        # ConsumeIntegralInRange(0, count + 1) reads one byte while count + 1 < 256.
        assert index < 256
        self.p.tail.append(index)
        return self

    def recv_huge(self):
        self.p.integral(5, 0, 11, 4)
        self.p.integral(0, 0, 5, 4)
        return self

    def recv_overflow(self, extra_digits):
        self.p.integral(5, 0, 11, 4)
        self.p.integral(2, 0, 5, 4)
        self.p.integral(extra_digits, 20, 30, 8)
        return self

    def fin(self, status="ok"):
        self.p.integral(9, 0, 11, 4)
        if status is not None:
            self._status(status)
        return self

    def data(self):
        return self.p.data()


def fibonacci_salt(limit=None, piece=None):
    """A salt whose built INITs are Fibonacci, with this max_fibonacci (None: the default,
    25000) and byte piece (None: 32 KiB); fuzz_session_rules.cpp reads these from the salt:
    kind (salt >> 40) % 3 == 1; limit default when (salt >> 16) % 4 == 0, else
    (salt >> 18) % 400; piece 32 KiB when (salt >> 28) % 4 == 0, else 1 + (salt >> 30) % 64."""
    salt = 1 << 40
    if piece is not None:
        salt |= (1 << 28) | ((piece - 1) << 30)
    if limit is not None:
        high = (salt >> 18) % 400
        salt |= (1 << 16) | (((limit - high) % 400) << 18)
    assert (salt >> 40) % 3 == 1
    assert limit is None or ((salt >> 16) % 4 != 0 and (salt >> 18) % 400 == limit)
    assert piece is None or ((salt >> 28) % 4 != 0 and 1 + (salt >> 30) % 64 == piece)
    return salt


def rules(name, script):
    write("fuzz_session_rules", name, script.data())


def rules_corpus():
    rules("scenario1", Script().init(GOLDEN, 5, 5).recv(0).fin())
    rules("scenario1_raw",
          Script().raw(f"INIT,{GOLDEN},5,5", "ok").raw("RECV,0").raw("FIN", "ok"))
    rules("scenario2_exists", Script().init(GOLDEN, 5, 5, status="exists"))
    rules("scenario3_batches",
          Script().init(GOLDEN, 100, 5).recv(0).recv(1).recv(19).recv(3).fin())
    rules("scenario4_completed",
          Script().cont(GOLDEN, record=("test", 0, 5, 5, GOLDEN_FAC)).fin(status=None))
    rules("scenario5_not_found", Script().cont(GOLDEN, status="not_found"))
    rules("takeover_live", Script().cont(GOLDEN, previous=99, record=("test", 0, 10, 5, None))
          .recv(1).recv(0).fin())
    rules("normal_mode", Script(test_mode=False).init(GOLDEN, 300, 7).recv(42).recv(43).fin())
    rules("normal_mode_record",
          Script().cont(GOLDEN, record=("normal", 12345, 300, 64, None)).recv(4).fin())
    rules("invalid_indices", Script().init(GOLDEN, 10, 5).recv(2).recv(3).recv_huge()
          .recv_overflow(25).recv(0).fin())
    rules("n0", Script().init(GOLDEN, 0, 1).recv(0).fin())
    rules("batch_max", Script().init(GOLDEN, 300, 65535).recv(0).recv(1).fin())
    rules("batch_one", Script().init(GOLDEN, 20, 1).recv(19).recv(20).fin())
    rules("store_unavailable", Script().init(GOLDEN, 5, 5, status="unavailable"))
    rules("cont_unavailable", Script().cont(GOLDEN, status="unavailable"))
    rules("complete_fails", Script().init(GOLDEN, 5, 5).fin(status="unavailable"))
    rules("recv_before_init", Script().recv(0).init(GOLDEN, 5, 5, status=None))
    rules("fin_before_init", Script().fin(status=None).recv(0))
    rules("second_init", Script().init(GOLDEN, 5, 5).init(GOLDEN, 5, 5, status=None).recv(0))
    rules("cont_after_init", Script().init(GOLDEN, 5, 5).cont(GOLDEN, status=None).recv(0))
    rules("completed_recv", Script().cont(GOLDEN, record=("test", 0, 5, 5, GOLDEN_FAC)).recv(0))
    rules("decode_error_attached", Script().init(GOLDEN, 5, 5).decode_error(1).recv(0))
    rules("decode_error_first", Script().decode_error(3))
    rules("raw_garbage", Script().raw("\x00\x01\xff").raw("RECV,0"))
    rules("raw_upper_id", Script().raw("INIT," + GOLDEN.upper() + ",300,7", "ok").raw("RECV,42")
          .raw("RECV,999").raw("FIN", "ok"))
    rules("raw_bad_fields", Script().raw(f"INIT,{GOLDEN},+5,5"))
    rules("fibonacci", Script(salt=fibonacci_salt()).init(GOLDEN, 100, 7).recv(14).recv(0).fin())
    rules("fibonacci_pieces",
          Script(salt=fibonacci_salt(piece=10)).init(GOLDEN, 300, 64).recv(4).recv(0).fin())
    rules("fibonacci_limit",
          Script(salt=fibonacci_salt(limit=50)).init(GOLDEN, 51, 5, status=None).recv(0))
    rules("fibonacci_raw", Script().raw(f"INIT,{GOLDEN},90,10,fibonacci", "ok").raw("RECV,8")
          .raw(f"INIT,{GOLDEN},5,5,primes"))
    rules("fibonacci_record",
          Script().cont(GOLDEN, record=("fibonacci", 0, 300, 7, None)).recv(42).fin())
    rules("raw_recv_overflow",
          Script().init(GOLDEN, 10, 5).raw("RECV," + "1" * 25).raw("FIN", "unavailable"))


def http(name, stream, cut=0, limit=100, flags=0):
    if isinstance(stream, str):
        stream = stream.encode("latin-1")
    write("fuzz_http", name, bytes([cut, limit, flags]) + stream)


def get(target, headers="", version="1.1", method="GET"):
    host = "Host: localhost:8080\r\n" if version == "1.1" else ""
    return f"{method} {target} HTTP/{version}\r\n{host}{headers}\r\n"


def http_corpus():
    http("n5", get("/v1/fibonacci?n=5"))
    http("n05_bytewise", get("/v1/fibonacci?n=05"), cut=64)  # reads of 1 byte
    http("range", get("/v1/fibonacci?from=3&to=6"))
    http("single_text", get("/v1/fibonacci/7", "Accept: text/plain\r\n"))
    http("accept_q", get("/v1/fibonacci?n=10",
                         "Accept: application/json;q=0.5, text/plain;q=0.9, */*;q=0.1\r\n"))
    http("fib_limit", get("/fib?limit=12"))
    http("fib_n", get("/fib/12"))
    http("page", get("/") + get("/?num=50"))
    http("curl", get("/v1/fibonacci?n=20", "User-Agent: curl/7.88.1\r\nAccept: */*\r\n"))
    http("browser", get("/?num=10",
                        "User-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
                        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                        "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
                        "Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n"))
    http("if_none_match", get("/v1/fibonacci?n=5",
                              'If-None-Match: W/"x", "fibonacci-v1/json/n/0/5"\r\n'))
    http("pipelined", get("/fib?limit=3") + get("/v1/fibonacci/2", method="HEAD")
         + get("/v1/fibonacci?n=4", "Connection: close\r\n"), cut=7)
    http("http10", get("/fib/5", version="1.0") + get("/fib/6", version="1.0"))
    http("http10_keep_alive", get("/fib/5", "Connection: keep-alive\r\n", version="1.0")
         + get("/fib/6", version="1.0"), flags=8)
    http("streamed", get("/v1/fibonacci?n=30") + get("/fib?limit=30", version="1.0"), flags=8)
    http("websocket", get("/v1/stream", "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\nOrigin: http://localhost:8080\r\n")
         + "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58")
    http("stream_no_upgrade", get("/v1/stream") + get("/metrics") + get("/healthz")
         + get("/readyz"))
    http("bad_params", get("/v1/fibonacci?n=-1") + get("/v1/fibonacci?n=abc")
         + get("/v1/fibonacci?n=1e3") + get("/v1/fibonacci?from=7&to=3")
         + get("/v1/fibonacci?n=5&n=6") + get("/v1/fibonacci?n=5&from=1&to=2")
         + get("/v1/fibonacci?n=" + "9" * 100) + get("/v1/fibonacci?n=5%00"))
    http("not_found_methods", get("/nope") + get("/v1/fibonacci?n=1", method="POST")
         + get("/fib", method="DELETE") + get("/", method="OPTIONS"))
    http("body_413", "POST /fib HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    http("chunked_413", "POST /fib HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n\r\n")
    http("long_line_414", get("/v1/fibonacci?n=5&pad=" + "a" * 80), flags=1)
    http("many_fields_431", get("/", "".join(f"X-{i}: {i}\r\n" for i in range(6))), flags=4)
    http("big_block_431", get("/", "X-Pad: " + "b" * 200 + "\r\n"), flags=2)
    http("version_505", "GET / HTTP/2.0\r\n\r\n")
    http("no_host_400", "GET / HTTP/1.1\r\n\r\n")
    http("absolute_form", get("http://localhost:8080/v1/../fib?limit=4"))
    http("dot_segments", get("/v1/./fibonacci/%35"))
    http("connect", "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n")
    http("empty_lines", "\r\n\r\n" + get("/fib/1"))
    http("bare_lf", "GET /fib/3 HTTP/1.1\nHost: a\n\n")


def ws_frame(head, payload=b"", key=b"\0\0\0\0", masked=True, length_form=0):
    """A client frame (RFC 6455 section 5.2). The zero key leaves the payload readable, so
    mutations work on the JSON itself."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload)
    bit = 0x80 if masked else 0
    if length_form == 0 and n < 126:
        header = bytes([head, bit | n])
    elif length_form != 127 and n < 65536:
        header = bytes([head, bit | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([head, bit | 127]) + n.to_bytes(8, "big")
    if not masked:
        return header + payload
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_text(payload):
    return ws_frame(0x81, payload)


def ws_close(code=None, reason=""):
    return ws_frame(0x88, b"" if code is None else code.to_bytes(2, "big") + reason.encode())


def websocket(name, stream, cut=0, config=0x03):
    """fuzz_websocket inputs: byte 0 seeds the cuts, byte 1 the limits, then client bytes.
    config 0x03: 4096-byte messages, 16 waiting, a fast reader, 1024-byte frames."""
    write("fuzz_websocket", name, bytes([cut, config]) + stream)


def websocket_corpus():
    websocket("first_five", ws_text('{"id":1,"sequence":"fibonacci","n":5}'))
    websocket("range", ws_text('{"id":"r","from":290,"to":299}'), cut=3)
    websocket("largest_small_frames", ws_text('{"n":300}'), config=0x43)
    websocket("slow_reader", ws_text('{"n":300}') + ws_text('{"n":300}'), config=0x0f)
    websocket("two_then_close", ws_text('{"n":3}') + ws_text('{"from":1,"to":2}') + ws_close(1000, "bye"))
    websocket("bad_requests", b"".join(ws_text(t) for t in (
        '{"n":-1}', '{"n":1.5}', '{"n":1e3}', '{"n":"5"}', '{"n":null}', '{"n":301}',
        '{"from":5,"to":2}', '{"n":1,"to":2}', '{}', '[1]', '{"n":', '{"sequence":"random","n":1}',
        '{"n":' + "9" * 400 + '}', '{"id":[{"a":1e5}],"n":1e400}', '{"n":5,"n":6}')))
    websocket("fragmented_with_ping", ws_frame(0x01, '{"n"') + ws_frame(0x89, "ping") +
              ws_frame(0x00, ':4') + ws_frame(0x80, '}'), cut=1)
    websocket("ping_flood", ws_frame(0x89, "p" * 125) * 40, config=0x0f)
    websocket("too_many_waiting", ws_text('{"n":300}') * 4, config=0x3f)
    websocket("unmasked", ws_frame(0x81, '{"n":1}', masked=False))
    websocket("reserved_bits", ws_frame(0xc1, '{"n":1}'))
    websocket("bad_opcode", ws_frame(0x83, "x") + ws_frame(0x8b, "y"))
    websocket("fragmented_ping", ws_frame(0x09, "p") + ws_frame(0x80, "q"))
    websocket("binary", ws_frame(0x82, b"\x00\x01"))
    websocket("invalid_utf8", ws_text(b'{"n":1,"x":"\xc0\xaf"}'))
    websocket("too_big", ws_text('{"n":1,"pad":"' + "x" * 5000 + '"}'))
    websocket("small_messages", ws_text('{"n":1,"pad":"' + "x" * 60 + '"}'), config=0x00)
    websocket("non_minimal_length", ws_frame(0x81, '{"n":2}', length_form=126) +
              ws_frame(0x81, "{}", length_form=127))
    websocket("close_codes", ws_close(1005))
    websocket("close_empty", ws_close())
    websocket("close_private", ws_close(4000, "app"))
    websocket("masked_key", ws_frame(0x81, '{"n":7}', key=b"\x37\xfa\x21\x3d"))


if __name__ == "__main__":
    for target in ("fuzz_codec", "fuzz_session_rules", "fuzz_http", "fuzz_websocket"):
        d = ROOT / target
        if d.exists():
            for f in d.iterdir():
                f.unlink()
    codec_corpus()
    rules_corpus()
    http_corpus()
    websocket_corpus()
    print(sum(1 for _ in ROOT.rglob("*") if _.is_file()), "seed inputs in", os.path.relpath(ROOT))
