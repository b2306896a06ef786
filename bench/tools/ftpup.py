"""ftpup.py PORT USER PASS SRC DEST: uploads the local file SRC as DEST in one FTP session
(binary, passive) with socket.sendfile (zero-copy, so the client costs little CPU) and
prints MiB/s from the STOR command to the server's 226 reply. Exit 1 on any error."""
import ftplib
import os
import sys
import time

port, user, password, src, dest = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], \
    sys.argv[5]
size = os.path.getsize(src)
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=120)
ftp.login(user, password)
ftp.voidcmd("TYPE I")
with open(src, "rb") as f:
    t0 = time.monotonic()
    with ftp.transfercmd(f"STOR {dest}") as data:
        sent = data.sendfile(f)
    ftp.voidresp()
    elapsed = time.monotonic() - t0
ftp.quit()
if sent != size:
    sys.exit(f"ftpup: sent {sent} of {size} bytes")
print(f"{size / elapsed / 1048576:.1f}")
