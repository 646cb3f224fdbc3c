"""paramiko (and so pysftp, Airflow's SFTPHook) against the local SFTP server: driven by clients.test.ts.

argv: port user key workdir. Prints one JSON object of results; exits 1 on an unexpected error.
"""
import hashlib
import json
import os
import sys

import paramiko

port, user, key_path, workdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
results = {}


def sha(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def refused(action):
    try:
        action()
    except (IOError, OSError) as error:
        return str(error) or type(error).__name__
    return None


transport = paramiko.Transport(("127.0.0.1", port))
transport.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(key_path))
sftp = paramiko.SFTPClient.from_transport(transport)

big = os.path.join(workdir, "big.bin")
# put() pipelines its writes (set_pipelined) and expects replies in request order.
sftp.put(big, "pm-big.bin", confirm=True)
back = os.path.join(workdir, "pm-big.back")
sftp.get("pm-big.bin", back)  # get() prefetches: many READs in flight
results["roundtrip"] = sha(back) == sha(big)
results["listed"] = "pm-big.bin" in sftp.listdir(".")
sftp.rename("pm-big.bin", "pm-big2.bin")
results["renamed"] = "pm-big2.bin" in sftp.listdir(".") and "pm-big.bin" not in sftp.listdir(".")
sftp.remove("pm-big2.bin")
results["removed"] = "pm-big2.bin" not in sftp.listdir(".")

# Resume: half uploaded, then the rest written from the remote size on.
with open(big, "rb") as handle:
    data = handle.read(3 * 1024 * 1024 + 17)
half = len(data) // 2
with sftp.open("pm-resume.bin", "wb") as remote:
    remote.write(data[:half])
offset = sftp.stat("pm-resume.bin").st_size
with sftp.open("pm-resume.bin", "r+b") as remote:
    remote.set_pipelined(True)
    remote.seek(offset)
    remote.write(data[offset:])
with sftp.open("pm-resume.bin", "rb") as remote:
    results["resumed"] = remote.read() == data

# Truncate: a file rewritten shorter keeps no stale tail (FSETSTAT), and SETSTAT size works on a published file.
with sftp.open("pm-resume.bin", "r+b") as remote:
    remote.write(b"short")
    remote.truncate(5)
with sftp.open("pm-resume.bin", "rb") as remote:
    results["ftruncate"] = remote.read() == b"short"
sftp.truncate("pm-resume.bin", 2)
results["truncate"] = sftp.stat("pm-resume.bin").st_size == 2

# Times set by the client are kept and reported.
sftp.utime("pm-resume.bin", (1_000_000_000, 1_200_000_000))
attrs = sftp.stat("pm-resume.bin")
results["utime"] = [attrs.st_atime, attrs.st_mtime] == [1_000_000_000, 1_200_000_000]

# A READ after an overlapping pipelined WRITE sees it, every time.
with sftp.open("pm-overlap.bin", "w+b") as remote:
    remote.set_pipelined(True)
    seen = 0
    for round_ in range(40):
        payload = os.urandom(65536)
        remote.seek(0)
        remote.write(payload)
        remote.seek(0)
        if remote.read(65536) == payload:
            seen += 1
    results["overlap"] = seen

# Absurd offsets and huge holes are refused, and such an upload is not published.
def write_at(offset):
    with sftp.open("pm-offset.bin", "wb") as remote:
        remote.seek(offset)
        remote.write(b"x")


results["offset_2_63"] = refused(lambda: write_at(2**63 - 10))
results["offset_1gib"] = refused(lambda: write_at(1 << 30))
results["offset_file"] = refused(lambda: sftp.stat("pm-offset.bin"))

# check-file: the server hashes the file (whole, and in blocks) without sending it.
import hashlib as _hashlib
with open(big, "rb") as handle:
    head = handle.read(1 << 20)
sftp.put(big, "pm-check.bin")
with sftp.open("pm-check.bin", "rb") as remote:
    whole = remote.check("sha256", 0, 0, 0)
    blocks = remote.check("md5,sha1", 0, 1 << 20, 1 << 19)
results["check_file"] = whole == bytes.fromhex(sha(big)) and blocks == (
    _hashlib.md5(head[: 1 << 19]).digest() + _hashlib.md5(head[1 << 19 :]).digest()
)

# An encrypted upload for the pipeline.
sftp.put(os.path.join(workdir, "paramiko.csv.gpg"), "paramiko.csv.gpg")
sftp.close()
transport.close()
print(json.dumps(results))
