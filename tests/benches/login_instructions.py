#!/usr/bin/env python3
"""A login's instruction count, which the machine's load does not move.

Usage: python3 tests/benches/login_instructions.py BINARY N
Starts BINARY (an ls-server) once without valgrind to make a deployment
with an owner, then under `valgrind --tool=callgrind` (every thread
counted, one hashing thread), sends N logins from fresh browsers (the login
page, then the form post, expecting 302) and stops it. Prints the binary,
N and the total instruction count. A login's cost is
(total(N) - total(0)) / N; BENCHMARKS.md ("Issue 14") compares two
binaries this way. Needs valgrind (Debian's package).
"""
import subprocess, sys, time, os, re, socket, http.cookiejar, urllib.request, urllib.parse, tempfile, signal, shutil
binary, n = sys.argv[1], int(sys.argv[2])
sk = socket.socket(); sk.bind(("127.0.0.1", 0)); PORT = sk.getsockname()[1]; sk.close()
home = tempfile.mkdtemp()
data = os.path.join(home, "data")
env = {k: v for k, v in os.environ.items() if not k.startswith("LS_") and not k.startswith("LABEL_STUDIO_")}
env["HOME"] = home; env["LS_LOG"] = "warn"; env["LS_HASH_CONCURRENCY"] = "1"
# First run without valgrind: creates the deployment and the owner.
p = subprocess.Popen([binary, "--data-dir", data, "start", "-p", str(PORT), "--username", "owner@example.com", "--password", "owner-password-1"], env=env, stderr=subprocess.DEVNULL)
def wait():
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1); return
        except Exception: time.sleep(0.2)
    raise SystemExit("no health")
wait(); p.send_signal(signal.SIGINT); p.wait()
out = os.path.join(home, "cg.out")
p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "--data-dir", data, "start", "-p", str(PORT)], env=env, stderr=open(os.path.join(home,"vg.err"),"w"), stdout=subprocess.DEVNULL)
wait()
for i in range(n):
    jar = http.cookiejar.CookieJar()
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k): return None
    op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    op.open(f"http://127.0.0.1:{PORT}/user/login/").read()
    csrf = [c.value for c in jar if c.name == "csrftoken"][0]
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "email": "owner@example.com", "password": "owner-password-1"}).encode()
    try:
        r = op.open(f"http://127.0.0.1:{PORT}/user/login/", body)
        code = r.status
    except urllib.error.HTTPError as e:
        code = e.code
    if code != 302:
        print(r.read()[:3000] if code==200 else code); print(open(os.path.join(home,"vg.err")).read()[-3000:]); raise SystemExit(1)
p.send_signal(signal.SIGINT); p.wait()
total = 0
if not os.path.exists(out):
    print(open(os.path.join(home, "vg.err")).read()[-1500:])
for line in open(out):
    if line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split()[1])
print(binary, n, total)
shutil.rmtree(home)
