"""ftpsmall.py PORT USER PASS DIR COUNT SIZE: seconds to upload COUNT files of SIZE bytes
in one FTP session (login, CWD DIR, COUNT x passive STOR, QUIT), timed from connect to
the reply to QUIT. The same client (ftplib) for every server. Exit 1 on any error."""
import ftplib
import io
import os
import sys
import time

port, user, password, directory = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
count, size = int(sys.argv[5]), int(sys.argv[6])
payloads = [os.urandom(size) for _ in range(count)]
t0 = time.monotonic()
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=30)
ftp.login(user, password)
ftp.cwd(directory)
for i, data in enumerate(payloads):
    ftp.storbinary(f"STOR f{i:04d}.bin", io.BytesIO(data))
ftp.quit()
print(f"{time.monotonic() - t0:.4f}")
