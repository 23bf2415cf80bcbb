"""Times tus uploads against the multipart `POST /photos` of the same file, in one run, with one
client (Python's http.client on keep-alive connections, bodies sent from memory without copies),
so that both paths pay the same client costs. Called by bench/tus.sh.

    python3 bench/tus_measure.py PORT TOKEN FILE RUNS PID

Per run, interleaved: multipart POST /photos (the reference); tus creation + one PATCH; tus
creation + 10 PATCHes of 5 MB; tus creation, a PATCH cut off after 50 % (the socket closed),
then the time to finish it (HEAD, and PATCH of the rest; a 409 means the server was still
recording the cut request: HEAD again; see cut_and_resume). Each upload changes the file's last
8 bytes, so that none is a duplicate. With PID, the daemon's peak RSS growth during each tus upload is read from
/proc (VmHWM, reset before it). Prints medians as JSON.
"""

import http.client
import json
import socket
import statistics
import sys
import time
import uuid

port, token, path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pid = sys.argv[5] if len(sys.argv) > 5 else None
data = bytearray(open(path, "rb").read())
size = len(data)
TUS = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}


def fresh(n):
    data[-8:] = f"{n:08d}".encode()
    return memoryview(bytes(data))


def conn():
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)


def send(c, method, url, headers, body_parts=()):
    c.putrequest(method, url, skip_accept_encoding=True)
    for k, v in headers.items():
        c.putheader(k, v)
    c.endheaders()
    for part in body_parts:
        c.send(part)
    r = c.getresponse()
    r.read()
    return r


def multipart(c, body):
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + len(body) + len(tail)),
    }
    r = send(c, "POST", "/api/v1/photos", headers, (head, body, tail))
    assert r.status == 201, r.status


def create(c):
    headers = dict(TUS, **{"Upload-Length": str(size), "Upload-Metadata": "filename YmlnLmpwZw=="})
    r = send(c, "POST", "/api/v1/uploads", headers)
    assert r.status == 201, r.status
    return r.getheader("Location")


def patch(c, url, offset, piece):
    headers = dict(
        TUS,
        **{
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(len(piece)),
        },
    )
    return send(c, "PATCH", url, headers, (piece,))


def tus_upload(c, body, pieces):
    url = create(c)
    step = -(-size // pieces)
    offset = 0
    while offset < size:
        r = patch(c, url, offset, body[offset : offset + step])
        assert r.status == 204, r.status
        offset = int(r.getheader("Upload-Offset"))
    assert r.getheader("Photo-Id"), "no photo"


def head(c, url):
    r = send(c, "HEAD", url, TUS)
    assert r.status == 200, r.status
    return int(r.getheader("Upload-Offset"))


def cut_and_resume(c, body):
    """Seconds from the cut to the finished photo, the offset it went on from, the attempts it
    took, and the connection to go on with. As a tus client does after a cut: HEAD, then PATCH
    the rest from there. A HEAD right after the cut may still report the last checkpoint (the
    server has not yet noticed the cut and recorded what it got); the PATCH from there then
    takes the upload over and is answered 409 with the real offset, possibly before its body
    is sent (the server closes that connection: a broken pipe here). Both are retried at once,
    and count in the time."""
    url = create(c)
    s = socket.create_connection(("127.0.0.1", int(port)))
    lines = [f"PATCH {url} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {size}",
             "Content-Type: application/offset+octet-stream", "Upload-Offset: 0"]
    lines += [f"{k}: {v}" for k, v in TUS.items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    s.sendall(body[: size // 2])
    s.shutdown(socket.SHUT_RDWR)
    s.close()
    started = time.perf_counter()
    attempts = 0
    while True:
        attempts += 1
        offset = head(c, url)
        try:
            r = patch(c, url, offset, body[offset:])
        except (BrokenPipeError, ConnectionResetError):
            c.close()
            c = conn()
            continue
        if r.status == 204:
            break
        assert r.status == 409, r.status
        # The server may close a connection whose body it did not read.
        c.close()
        c = conn()
    assert r.getheader("Photo-Id"), "no photo"
    return time.perf_counter() - started, offset, attempts, c


def peak_start():
    if pid:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return rss_kb("VmRSS")
    return 0


def rss_kb(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def timed(fn, *args):
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


times = {"multipart": [], "tus_one_patch": [], "tus_10_patches": [], "tus_resume_after_cut": []}
growth, resumed_from, attempts = [], [], []
c = conn()
n = 0
for _ in range(runs):
    n += 1
    times["multipart"].append(timed(multipart, c, fresh(n)))
    n += 1
    body = fresh(n)
    before = peak_start()
    times["tus_one_patch"].append(timed(tus_upload, c, body, 1))
    if pid:
        growth.append((rss_kb("VmHWM") - before) / 1024)
    n += 1
    body = fresh(n)
    before = peak_start()
    times["tus_10_patches"].append(timed(tus_upload, c, body, 10))
    if pid:
        growth.append((rss_kb("VmHWM") - before) / 1024)
    n += 1
    seconds, offset, tries, c = cut_and_resume(c, fresh(n))
    times["tus_resume_after_cut"].append(seconds)
    resumed_from.append(offset)
    attempts.append(tries)

ms = {k: round(statistics.median(v) * 1000, 1) for k, v in times.items()}
print(
    json.dumps(
        {
            "size": size,
            "runs": runs,
            "median_ms": ms,
            "all_ms": {k: [round(x * 1000) for x in v] for k, v in times.items()},
            "ratio_one_patch_to_multipart": round(ms["tus_one_patch"] / ms["multipart"], 2),
            "ratio_10_patches_to_multipart": round(ms["tus_10_patches"] / ms["multipart"], 2),
            "ratio_resume_to_tus_one_patch": round(ms["tus_resume_after_cut"] / ms["tus_one_patch"], 2),
            "ratio_resume_to_multipart": round(ms["tus_resume_after_cut"] / ms["multipart"], 2),
            "resumed_from_bytes": resumed_from,
            "resume_attempts": attempts,
            "max_rss_growth_mb": round(max(growth), 1) if growth else None,
        }
    )
)
