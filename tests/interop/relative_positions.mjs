// Prints, as JSON, a Yjs document's update and the relative positions (Y.encodeRelativePosition,
// base64) of a passage in its text, as the browser wiki anchors discussion threads.
import * as Y from "yjs";

const doc = new Y.Doc();
const text = doc.getText("t");
text.insert(0, "Run the deploy checklist before lunch.");
text.insert(0, "Always: "); // a second item, so the passage spans items of their own
const at = text.toString().indexOf("deploy checklist");
const encode = (position) => Buffer.from(Y.encodeRelativePosition(position)).toString("base64");
process.stdout.write(
  JSON.stringify({
    update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString("base64"),
    start: encode(Y.createRelativePositionFromTypeIndex(text, at)),
    end: encode(Y.createRelativePositionFromTypeIndex(text, at + "deploy checklist".length, -1)),
    atEnd: encode(Y.createRelativePositionFromTypeIndex(text, text.length)),
  }),
);
