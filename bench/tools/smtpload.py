"""smtpload.py MAILDIR COUNT TIMEOUT -- SMTP-SOURCE-COMMAND...: durable delivery rate.

Starts the smtp-source command (which sends COUNT messages), polls MAILDIR/new until it
holds COUNT files (a message counts once it is a file in new/, as the server renamed it
there), then prints "seconds messages_per_second intact". INTACT counts the files whose
body carries the whole payload (smtp-source -l bytes of "La Rhubarbe..." lines are not
checked byte by byte: the body, minus line endings, must be at least PAYLOAD bytes, given
by the SMTP_PAYLOAD environment variable, default 4096). Exit 1 on timeout or when
smtp-source fails; MAILDIR/new is expected to be empty at the start."""
import os
import subprocess
import sys
import time

maildir, count, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
cmd = sys.argv[sys.argv.index("--") + 1:]
payload = int(os.environ.get("SMTP_PAYLOAD", "4096"))
new = os.path.join(maildir, "new")

t0 = time.monotonic()
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
n = 0
while True:
    n = len(os.listdir(new))
    elapsed = time.monotonic() - t0
    if n >= count:
        break
    if elapsed > limit:
        proc.kill()
        sys.exit(f"smtpload: timeout after {limit}s with {n} of {count} messages in new/")
    if proc.poll() not in (None, 0):
        err = proc.stderr.read().decode(errors="replace").strip()[-400:]
        sys.exit(f"smtpload: smtp-source exited {proc.returncode}: {err}")
    time.sleep(0.01)
try:
    proc.wait(max(1.0, limit - elapsed))
except subprocess.TimeoutExpired:
    proc.kill()
intact = 0
for name in os.listdir(new):
    with open(os.path.join(new, name), "rb") as f:
        data = f.read()
    sep = data.find(b"\n\n")
    body = data[sep + 2:] if sep >= 0 else b""
    if len(body.replace(b"\r", b"").replace(b"\n", b"")) >= payload * 0.9:
        intact += 1
print(f"{elapsed:.3f} {count / elapsed:.1f} {intact}")
