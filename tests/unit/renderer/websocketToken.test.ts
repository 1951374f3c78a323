// @vitest-environment happy-dom
import { beforeEach, describe, expect, it } from 'vitest'
import { takePageToken, websocketApi } from '@renderer/api/websocket'

/**
 * The page under `siva serve` takes its token from the address once, then removes it from the address bar,
 * and keeps it in this origin's sessionStorage for reloads.
 */
beforeEach(() => {
  window.sessionStorage.clear()
  window.history.replaceState(null, '', '/')
})

describe('the page token', () => {
  it('is taken from ?token= and removed from the address, keeping the rest of it', () => {
    window.history.replaceState(null, '', '/?x=1&token=abc123&y=2#/train')
    expect(takePageToken(window.location, window.history, window.sessionStorage)).toBe('abc123')
    expect(window.location.search).toBe('?x=1&y=2')
    expect(window.location.hash).toBe('#/train')
    expect(window.location.href).not.toContain('abc123')
    expect(window.sessionStorage.getItem('siva-token')).toBe('abc123')
  })

  it('comes from sessionStorage on a reload without it, and is absent when neither has it', () => {
    expect(takePageToken(window.location, window.history, window.sessionStorage)).toBeUndefined()
    window.sessionStorage.setItem('siva-token', 'kept')
    expect(takePageToken(window.location, window.history, window.sessionStorage)).toBe('kept')
    expect(window.location.search).toBe('')
  })

  it('is removed from the address as soon as the WebSocket API is set up', () => {
    window.history.replaceState(null, '', '/?token=secret')
    websocketApi(window.location)
    expect(window.location.href).not.toContain('secret')
    expect(window.sessionStorage.getItem('siva-token')).toBe('secret')
  })
})
