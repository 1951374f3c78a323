/**
 * RFC 4180 fields from physical lines: quoted fields may hold the delimiter, doubled quotes and line
 * breaks; CRLF and LF both end a record. Where the RFC forbids something and Python's csv module (the
 * reference in tests) accepts it, a quote inside an unquoted field or text after a closing quote, the text
 * is kept as it stands and flagged, so nothing the user wrote is lost.
 */
export interface ParsedRecord {
  fields: string[]
  /** Line where the record starts. */
  line: number
  /** A quote that RFC 4180 does not allow where it stands, at this 0-based field. */
  strayQuoteField?: number
}

type State = 'fieldStart' | 'unquoted' | 'quoted' | 'quoteInQuoted'

export class CsvRecordParser {
  private state: State = 'fieldStart'
  private inRecord = false
  private fields: string[] = []
  private field = ''
  private startLine = 0
  private strayQuoteField: number | undefined
  private chars = 0

  constructor(private readonly delimiter: string) {}

  /** True while a quoted field is open across lines. */
  get open(): boolean {
    return this.inRecord
  }

  /** The 0-based field an open quote belongs to. */
  get openField(): number {
    return this.fields.length
  }

  get openLine(): number {
    return this.startLine
  }

  /** Characters held for the open record. */
  get heldChars(): number {
    return this.chars
  }

  /** Drop the open record (it ran too long): the next line starts a new one. */
  abandon(): void {
    this.inRecord = false
    this.fields = []
    this.field = ''
    this.chars = 0
  }

  /** Feed one line; returns the record it completes, 'blank' for an empty line between records, else null. */
  push(text: string, ending: string, line: number): ParsedRecord | 'blank' | null {
    if (!this.inRecord) {
      if (text === '') return 'blank'
      this.inRecord = true
      this.startLine = line
      this.fields = []
      this.field = ''
      this.state = 'fieldStart'
      this.strayQuoteField = undefined
      this.chars = 0
    }
    this.chars += text.length + ending.length
    const delimiter = this.delimiter
    let i = 0
    while (i < text.length) {
      switch (this.state) {
        case 'fieldStart':
          if (text[i] === '"') {
            this.state = 'quoted'
            i++
          } else {
            this.state = 'unquoted'
          }
          break
        case 'unquoted': {
          const cut = text.indexOf(delimiter, i)
          const end = cut === -1 ? text.length : cut
          const piece = text.slice(i, end)
          if (piece.includes('"')) this.strayQuoteField ??= this.fields.length
          this.field += piece
          if (cut === -1) {
            i = text.length
          } else {
            this.endField()
            i = cut + delimiter.length
          }
          break
        }
        case 'quoted': {
          const close = text.indexOf('"', i)
          if (close === -1) {
            this.field += text.slice(i)
            i = text.length
          } else {
            this.field += text.slice(i, close)
            this.state = 'quoteInQuoted'
            i = close + 1
          }
          break
        }
        case 'quoteInQuoted':
          if (text[i] === '"') {
            this.field += '"'
            this.state = 'quoted'
            i++
          } else if (text.startsWith(delimiter, i)) {
            this.endField()
            i += delimiter.length
          } else {
            this.strayQuoteField ??= this.fields.length
            this.state = 'unquoted'
          }
          break
      }
    }
    if (this.state === 'quoted') {
      this.field += ending
      return null
    }
    this.endField()
    this.inRecord = false
    const record: ParsedRecord = { fields: this.fields, line: this.startLine }
    if (this.strayQuoteField !== undefined) record.strayQuoteField = this.strayQuoteField
    return record
  }

  private endField(): void {
    this.fields.push(this.field)
    this.field = ''
    this.state = 'fieldStart'
  }
}
