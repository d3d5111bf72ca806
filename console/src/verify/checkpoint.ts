// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text is
//   origin "\n" size "\n" base64(root) "\n" (extension "\n")*
// and is trusted only once its signed note verifies against the pinned log key.

import { VerifyError, fromBase64, parseDecimal } from './bytes.js';
import { parseNote, verifyNote, type Verifier } from './note.js';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  extensions: string[];
}

export interface SignedCheckpoint extends Checkpoint {
  note: string; // the whole signed note, as received
}

export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new VerifyError('checkpoint_malformed', 'checkpoint: must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new VerifyError('checkpoint_malformed', 'checkpoint: fewer than three lines');
  if (lines.some((l) => l.length === 0)) throw new VerifyError('checkpoint_malformed', 'checkpoint: empty line');
  let size: number;
  try {
    size = parseDecimal(lines[1]);
  } catch {
    throw new VerifyError('checkpoint_malformed', 'checkpoint: bad tree size');
  }
  let root: Uint8Array;
  try {
    root = fromBase64(lines[2]);
  } catch {
    throw new VerifyError('checkpoint_malformed', 'checkpoint: root hash must be base64');
  }
  if (root.length !== 32) throw new VerifyError('checkpoint_malformed', 'checkpoint: root hash must be 32 bytes');
  return { origin: lines[0], size, root, extensions: lines.slice(3) };
}

// Verifies the note's signature by the pinned log key, then parses its text. The log's
// origin is its key's name (as for cloudpact, Go's sumdb and every tlog-tiles log), so a
// checkpoint of another log signed with the same key is refused too.
export async function verifyCheckpoint(note: string, log: Verifier): Promise<SignedCheckpoint> {
  const parsed = parseNote(note);
  await verifyNote(parsed, [log]);
  const cp = parseCheckpoint(parsed.text);
  if (cp.origin !== log.name) {
    throw new VerifyError('checkpoint_origin', `checkpoint: origin ${JSON.stringify(cp.origin)} is not the pinned log's`);
  }
  return { ...cp, note };
}
