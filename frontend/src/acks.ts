// Which local edits the server has durably stored, from its "saved" acknowledgements.
//
// The server answers `4, varUint(n)` once the first n sync-step-2/update messages of a
// connection are committed. Each such frame we send is stamped with the number of local
// changes made so far (every frame carries all of them: an update is sent the moment it is
// made, and a sync step 2 carries the whole document), so an ack for frame n means every
// local change up to that frame's stamp is safe.

export class AckTracker {
  private localChanges = 0
  private savedChanges = 0
  private stamps: number[] = []

  /** A change made here (typing, or offline edits loaded back from this device). */
  localChange(): void {
    this.localChanges += 1
  }

  /** A new connection: the server counts its messages from zero again. */
  connectionOpened(): void {
    this.stamps = []
  }

  /** A sync-step-2 or update frame went out on the current connection. */
  frameSent(): void {
    this.stamps.push(this.localChanges)
  }

  /** The server stored the first `count` frames of the current connection. */
  acknowledged(count: number): void {
    const stamp = this.stamps[Math.min(count, this.stamps.length) - 1]
    if (stamp !== undefined && stamp > this.savedChanges) this.savedChanges = stamp
  }

  /** Local changes not yet known to be stored. */
  get unsaved(): number {
    return this.localChanges - this.savedChanges
  }
}

/** True for a y-websocket sync-step-2 (`0 1 ...`) or update (`0 2 ...`) frame. */
export function isWriteFrame(data: unknown): boolean {
  const bytes =
    data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : null
  return bytes !== null && bytes.length > 1 && bytes[0] === 0 && (bytes[1] === 1 || bytes[1] === 2)
}
