"""asyncssh against the local SFTP server: driven by clients.test.ts. Probes the key first, so an RSA key needs the
server's USERAUTH_PK_OK to name rsa-sha2-* ("Key mismatch" otherwise).

argv: port user key workdir tag. Prints one JSON object of results.
"""
import asyncio
import hashlib
import json
import os
import sys

import asyncssh

port, user, key_path, workdir, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]


def sha(data):
    return hashlib.sha256(data).hexdigest()


async def main():
    results = {}
    async with asyncssh.connect(
        "127.0.0.1", port, username=user, client_keys=[key_path], known_hosts=None, agent_path=None
    ) as conn:
        async with conn.start_sftp_client() as sftp:
            name = f"as-{tag}.bin"
            local = os.path.join(workdir, "mid.bin")
            await sftp.put(local, name)
            back = os.path.join(workdir, f"as-{tag}.back")
            await sftp.get(name, back)
            with open(local, "rb") as a, open(back, "rb") as b:
                results["roundtrip"] = sha(a.read()) == sha(b.read())
            results["listed"] = name in await sftp.listdir(".")
            await sftp.rename(name, f"{name}.2")
            results["renamed"] = await sftp.exists(f"{name}.2") and not await sftp.exists(name)
            await sftp.remove(f"{name}.2")
            results["removed"] = not await sftp.exists(f"{name}.2")
            data = os.urandom(1_000_003)
            async with sftp.open(f"as-{tag}-resume.bin", "wb") as f:
                await f.write(data[:400_000])
            size = (await sftp.stat(f"as-{tag}-resume.bin")).size
            async with sftp.open(f"as-{tag}-resume.bin", "r+b") as f:
                await f.write(data[size:], size)
            async with sftp.open(f"as-{tag}-resume.bin", "rb") as f:
                results["resumed"] = await f.read() == data
            await sftp.put(os.path.join(workdir, f"asyncssh-{tag}.csv.gpg"), f"asyncssh-{tag}.csv.gpg")
    print(json.dumps(results))


asyncio.run(main())
