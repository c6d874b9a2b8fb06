// A conversation this page has open: a byte's threads or a module's chat. It loads the current
// state over REST, then hears every later event over the live channel and applies them in the
// order the server stored them: an event it already holds (seq <= last) is dropped, and a gap
// (seq > last + 1) is filled from the catch-up endpoint before anything after it is applied.
import { api } from './api'
import { channel, conversationKey, type Subscriber, type Target } from './discuss'
import { confirmed, enqueue, pendingFor, subscribeOutbox, type Pending } from './outbox'
import type { Comment, DiscussionEvent, EventPage, Person, Thread } from './types'

/** Someone typing here, until when (ms), and in which thread (null: a new thread or the chat). */
export interface Typist {
  user: Person
  thread: number | null
  until: number
}

const TYPING_SHOWN_MS = 4_000
const CATCH_UP_PAGE = 500

abstract class Conversation implements Subscriber {
  readonly key: string
  lastSeqHeld = 0
  loaded = false
  error: string | null = null
  typists: Typist[] = []
  protected readonly me: Person
  private readonly listeners = new Set<() => void>()
  private readonly early = new Map<number, DiscussionEvent>()
  private catchingUp = false
  private closed = false
  private stops: (() => void)[] = []
  private typingTimer = 0

  constructor(
    readonly target: Target,
    me: Person,
  ) {
    this.key = conversationKey(target)
    this.me = me
  }

  /** Load the current state, then go live. */
  async open(): Promise<void> {
    this.stops.push(subscribeOutbox(() => this.changed()))
    try {
      const seq = await this.load()
      if (this.closed) return
      this.lastSeqHeld = seq
      this.loaded = true
      this.error = null
      this.stops.push(channel.subscribe(this))
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    this.changed()
  }

  close(): void {
    this.closed = true
    this.stops.forEach((stop) => stop())
    this.stops = []
    clearTimeout(this.typingTimer)
    this.listeners.clear()
  }

  listen(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  pending(): Pending[] {
    return pendingFor(this.key)
  }

  /** Tell the others this user is typing (in a thread, or a new thread / the chat). */
  sendTyping(thread: number | null = null): void {
    channel.typing(this.target, thread)
  }

  // --- Subscriber ---

  lastSeq(): number {
    return this.lastSeqHeld
  }

  event(event: DiscussionEvent): void {
    if (event.seq <= this.lastSeqHeld) return // already held: a duplicate
    if (event.seq > this.lastSeqHeld + 1 || this.catchingUp) {
      this.early.set(event.seq, event)
      void this.catchUp()
      return
    }
    this.applyInOrder(event)
    this.changed()
  }

  subscribed(lastSeq: number): void {
    // Everything up to lastSeq has been sent before this: anything still missing is a gap.
    if (lastSeq > this.lastSeqHeld) void this.catchUp()
  }

  refused(message: string): void {
    this.error = message
    this.changed()
  }

  heardTyping(user: Person, thread: number | null): void {
    if (user.id === this.me.id) return
    const until = Date.now() + TYPING_SHOWN_MS
    this.typists = [...this.typists.filter((typist) => typist.user.id !== user.id), { user, thread, until }]
    this.scheduleTypingExpiry()
    this.changed()
  }

  /** Somebody's message arrived: they have stopped typing it. */
  protected stoppedTyping(userId: number): void {
    if (this.typists.some((typist) => typist.user.id === userId)) {
      this.typists = this.typists.filter((typist) => typist.user.id !== userId)
    }
  }

  private scheduleTypingExpiry(): void {
    clearTimeout(this.typingTimer)
    if (!this.typists.length) return
    const next = Math.min(...this.typists.map((typist) => typist.until))
    this.typingTimer = window.setTimeout(() => {
      const now = Date.now()
      this.typists = this.typists.filter((typist) => typist.until > now)
      this.scheduleTypingExpiry()
      this.changed()
    }, Math.max(50, next - Date.now()))
  }

  // --- ordering ---

  private applyInOrder(event: DiscussionEvent): void {
    this.apply(event)
    this.lastSeqHeld = event.seq
    const comment = event.comment ?? lastComment(event.thread)
    if (comment && event.kind !== 'comment.edited' && event.kind !== 'chat.edited') {
      if (comment.author?.id === this.me.id) confirmed(comment.client_id)
      if (comment.author) this.stoppedTyping(comment.author.id)
    }
    if (event.thread && event.kind === 'thread.created') confirmed(event.thread.comments[0]?.client_id ?? '')
    this.drainEarly()
  }

  /** Events that came early and now follow on are applied; those already held are dropped. */
  private drainEarly(): void {
    this.early.forEach((_event, seq) => seq <= this.lastSeqHeld && this.early.delete(seq))
    const next = this.early.get(this.lastSeqHeld + 1)
    if (next) {
      this.early.delete(next.seq)
      this.applyInOrder(next)
    }
  }

  /** Fetch what was missed (since the last seq held), page by page. */
  private async catchUp(): Promise<void> {
    if (this.catchingUp || this.closed) return
    this.catchingUp = true
    try {
      for (let round = 0; round < 100; round++) {
        const page = await this.eventsSince(this.lastSeqHeld)
        if (this.closed) return
        for (const event of page.events) {
          // The answer is in order; a hole in it (the server never skips) would be stepped over.
          if (event.seq > this.lastSeqHeld) this.applyInOrder(event)
        }
        this.changed()
        if (page.events.length < CATCH_UP_PAGE) break
      }
    } catch {
      // Offline or the server is away: the channel resubscribes from lastSeq when it is back.
    } finally {
      this.catchingUp = false
    }
    this.drainEarly()
    this.changed()
    // Events that arrived during the catch-up and still do not follow on: ask again.
    if (!this.closed && [...this.early.keys()].some((seq) => seq > this.lastSeqHeld + 1)) channel.resubscribe(this)
  }

  protected changed(): void {
    this.listeners.forEach((listener) => listener())
  }

  protected abstract load(): Promise<number>
  protected abstract eventsSince(seq: number): Promise<EventPage>
  protected abstract apply(event: DiscussionEvent): void
}

const lastComment = (thread: Thread | undefined): Comment | undefined => thread?.comments[thread.comments.length - 1]

/** A byte's comment threads. */
export class ByteDiscussion extends Conversation {
  threads: Thread[] = []

  constructor(
    readonly byteId: number,
    me: Person,
  ) {
    super({ byte: byteId }, me)
  }

  protected async load(): Promise<number> {
    const list = await api.threads(this.byteId)
    this.threads = list.results
    return list.last_seq
  }

  protected eventsSince(seq: number): Promise<EventPage> {
    return api.byteEvents(this.byteId, seq)
  }

  protected apply(event: DiscussionEvent): void {
    if (event.thread) this.putThread(event.thread)
    else if (event.comment) this.putComment(event.comment)
  }

  putThread(thread: Thread): void {
    const at = this.threads.findIndex((item) => item.id === thread.id)
    if (at === -1) this.threads = [...this.threads, thread].sort((a, b) => a.id - b.id)
    else this.threads = this.threads.map((item) => (item.id === thread.id ? thread : item))
    this.changed()
  }

  putComment(comment: Comment): void {
    const thread = this.threads.find((item) => item.id === comment.thread)
    if (!thread) return
    const at = thread.comments.findIndex((item) => item.id === comment.id)
    const comments = at === -1 ? [...thread.comments, comment].sort((a, b) => a.id - b.id) : thread.comments.map((item) => (item.id === comment.id ? comment : item))
    this.putThread({ ...thread, comments })
  }

  openCount(): number {
    return this.threads.filter((thread) => !thread.resolved).length
  }

  /** Start a thread (anchored to a passage, or not). */
  startThread(body: string, anchor: { start: string; end: string; quote: string } | undefined, refused: (body: string) => void): void {
    enqueue(
      { kind: 'thread', byte: this.byteId, anchor },
      body,
      (text, clientId) => api.createThread(this.byteId, { body: text, client_id: clientId, ...(anchor ? { anchor } : {}) }),
      { stored: (thread) => this.putThread(thread as Thread), refused },
    )
  }

  reply(thread: number, body: string, refused: (body: string) => void): void {
    enqueue(
      { kind: 'reply', byte: this.byteId, thread },
      body,
      (text, clientId) => api.reply(thread, { body: text, client_id: clientId }),
      { stored: (comment) => this.putComment(comment as Comment), refused },
    )
  }
}

/** A module's chat: the latest messages, and older ones on demand. */
export class ModuleChat extends Conversation {
  messages: Comment[] = []
  /** There may be older messages than the first one held. */
  more = false

  constructor(
    readonly moduleId: number,
    me: Person,
  ) {
    super({ module: moduleId }, me)
  }

  protected async load(): Promise<number> {
    const page = await api.chat(this.moduleId)
    this.messages = page.results
    this.more = page.results.length >= 50
    return page.last_seq
  }

  async loadEarlier(): Promise<void> {
    const first = this.messages[0]
    if (!first) return
    const page = await api.chat(this.moduleId, first.id)
    this.more = page.results.length >= 50
    page.results.forEach((message) => this.put(message, false))
    this.changed()
  }

  protected eventsSince(seq: number): Promise<EventPage> {
    return api.chatEvents(this.moduleId, seq)
  }

  protected apply(event: DiscussionEvent): void {
    if (event.comment) this.put(event.comment)
  }

  put(message: Comment, notify = true): void {
    const at = this.messages.findIndex((item) => item.id === message.id)
    if (at === -1) this.messages = [...this.messages, message].sort((a, b) => a.id - b.id)
    else this.messages = this.messages.map((item) => (item.id === message.id ? message : item))
    if (notify) this.changed()
  }

  send(body: string, refused: (body: string) => void): void {
    enqueue(
      { kind: 'chat', module: this.moduleId },
      body,
      (text, clientId) => api.sendChat(this.moduleId, { body: text, client_id: clientId }),
      { stored: (message) => this.put(message as Comment), refused },
    )
  }
}
