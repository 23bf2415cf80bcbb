// Uploads one file to Photox with tus-js-client, as a browser (Uppy) or a Node.js program
// would, and prints what the server answered: {"photo_id", "duplicate", "url"} as JSON.
//
//   node upload.cjs ENDPOINT TOKEN FILE MODE
//
// MODE: `whole` (the client's default: one PATCH), `chunks` (1 MB PATCHes) or `parallel`
// (three partial uploads at once, concatenated by a final one). tus-js-client is found through
// NODE_PATH (tests/tus-clients/setup.sh installs it).
const fs = require("fs");
const path = require("path");
const tus = require("tus-js-client");

const [endpoint, token, file, mode] = process.argv.slice(2);
const data = fs.readFileSync(file);
let photoId = null;
let duplicate = false;

const options = {
  endpoint,
  headers: { Authorization: `Bearer ${token}` },
  metadata: {
    filename: path.basename(file),
    filetype: "image/jpeg",
    title: `tus-js-client ${mode}`,
  },
  retryDelays: [0, 500, 1000],
  // The request that delivers the last byte answers Photo-Id.
  onAfterResponse(req, res) {
    const id = res.getHeader("Photo-Id");
    if (id) {
      photoId = Number(id);
      duplicate = res.getHeader("Photo-Duplicate") === "true";
    }
  },
  onError(error) {
    console.error(`upload failed: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ photo_id: photoId, duplicate, url: upload.url }));
  },
};
if (mode === "chunks") {
  options.chunkSize = 1024 * 1024;
} else if (mode === "parallel") {
  options.parallelUploads = 3;
} else if (mode !== "whole") {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const upload = new tus.Upload(data, options);
upload.start();
