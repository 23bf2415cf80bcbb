"""Uploads one file to Photox with tuspy and prints what the server answered:
{"photo_id", "duplicate", "url"} as JSON.

    python upload_tuspy.py ENDPOINT TOKEN FILE MODE

MODE: `whole` (the client's default: one PATCH), `chunks` (1 MB PATCHes) or `checksum`
(1 MB PATCHes, each with its Upload-Checksum). tests/tus-clients/setup.sh installs tuspy.
"""

import json
import os
import sys

from tusclient import client

endpoint, token, path, mode = sys.argv[1:5]
tus = client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
options = {"metadata": {"filename": os.path.basename(path), "title": f"tuspy {mode}"}}
if mode in ("chunks", "checksum"):
    options["chunk_size"] = 1024 * 1024
if mode == "checksum":
    options["upload_checksum"] = True
elif mode not in ("whole", "chunks"):
    sys.exit(f"unknown mode {mode}")
uploader = tus.uploader(path, **options)
uploader.upload()
# The answer to the last PATCH carries the photo.
answer = uploader.request.response_headers
print(
    json.dumps(
        {
            "photo_id": int(answer["photo-id"]),
            "duplicate": answer.get("photo-duplicate") == "true",
            "url": uploader.url,
        }
    )
)
