#!/usr/bin/env python3
# startup.py - for scripts/bench_serve.sh: time from exec of `treatylog serve` to its first
# 200 on GET /checkpoint, polled every 0.5 ms on loopback; then the server is left running.
#
#   startup.py PIDFILE TREATYLOG serve --dir DIR --listen 127.0.0.1:PORT ...
# Prints "startup ms=<t> url=<url> pid=<pid>" and writes the server's pid to PIDFILE; stderr of
# the server goes to PIDFILE.err. Exit 1 if no 200 within 20 minutes (the first start on a
# log without a hash index indexes it: about 7 minutes at 10M entries).
import socket
import subprocess
import sys
import time

pidfile, argv = sys.argv[1], sys.argv[2:]
listen = argv[argv.index("--listen") + 1]
host, port = listen.rsplit(":", 1)
req = b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
t0 = time.monotonic()
p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(pidfile + ".err", "w"))
with open(pidfile, "w") as f:
    f.write(str(p.pid))
while time.monotonic() - t0 < 1200:
    if p.poll() is not None:
        sys.exit("server exited with %d" % p.returncode)
    try:
        with socket.create_connection((host, int(port)), timeout=1) as s:
            s.sendall(req)
            head = s.recv(64)
        if head.startswith(b"HTTP/1.1 200"):
            ms = (time.monotonic() - t0) * 1000
            print("startup ms=%.1f url=http://%s pid=%d" % (ms, listen, p.pid))
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.0005)
sys.exit("no 200 on /checkpoint within 20 minutes")
