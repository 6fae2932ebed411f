import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEventInput } from '../../core/audit/types.ts';
import { isWebhookEvent, webhookPayload, WEBHOOK_ACTIONS } from './events.ts';

const APPENDED = { seq: 42, id: '0192f0aa-0000-7000-8000-000000000001', hash: 'a'.repeat(64) };
const AT = new Date('2030-01-02T03:04:05.678Z');

function event(action: string, details?: Record<string, unknown>): AuditEventInput {
  return { actor: { type: 'system' }, action, outcome: 'success', ...(details === undefined ? {} : { details }) };
}

describe('webhook events', () => {
  it('selects lockouts, refresh-token reuse, role changes and audit verification failures', () => {
    for (const action of ['auth.locked', 'token.reuse_detected', 'role.assigned', 'role.removed', 'role.created', 'role.updated', 'role.deleted', 'audit.verify_failed']) {
      assert.ok(WEBHOOK_ACTIONS.has(action), action);
      assert.equal(isWebhookEvent(event(action)), true, action);
    }
  });

  it('leaves routine events out', () => {
    for (const action of ['auth.login_failed', 'user.registered', 'user.email_verified', 'session.revoked', 'password.changed', 'password.reset_requested', 'password.reset_completed', 'user.updated', 'user.created']) {
      assert.equal(isWebhookEvent(event(action)), false, action);
    }
  });

  it('selects a successful login only when the actor is an admin (details.admin === true, nothing truthy)', () => {
    assert.equal(isWebhookEvent(event('auth.login_succeeded')), false);
    assert.equal(isWebhookEvent(event('auth.login_succeeded', { method: 'password' })), false);
    assert.equal(isWebhookEvent(event('auth.login_succeeded', { admin: 'true' })), false);
    assert.equal(isWebhookEvent(event('auth.login_succeeded', { admin: 1 })), false);
    assert.equal(isWebhookEvent(event('auth.login_succeeded', { admin: true, method: 'password' })), true);
    assert.equal(isWebhookEvent(event('auth.login_failed', { admin: true })), false);
  });

  it('builds the documented snake_case payload from the audit event', () => {
    const input: AuditEventInput = {
      actor: { type: 'user', id: 'u1' },
      action: 'auth.login_succeeded',
      target: { type: 'session', id: 's1' },
      outcome: 'success',
      ip: '203.0.113.9',
      userAgent: 'curl/8',
      requestId: 'req-1',
      details: { method: 'password', admin: true },
    };
    assert.deepEqual(webhookPayload(input, APPENDED, AT, { includeIp: true }), {
      id: APPENDED.id,
      type: 'auth.login_succeeded',
      occurred_at: '2030-01-02T03:04:05.678Z',
      actor: { type: 'user', id: 'u1' },
      target: { type: 'session', id: 's1' },
      outcome: 'success',
      ip: '203.0.113.9',
      request_id: 'req-1',
      details: { method: 'password', admin: true },
      audit_seq: 42,
    });
    // Personal data: the address goes only where WEBHOOK_INCLUDE_IP=true.
    assert.equal(webhookPayload(input, APPENDED, AT, { includeIp: false }).ip, null);
  });

  it('uses null for what the event lacks, and {} for no details', () => {
    const payload = webhookPayload(event('auth.locked'), APPENDED, AT, { includeIp: true });
    assert.deepEqual(payload.actor, { type: 'system', id: null });
    assert.equal(payload.target, null);
    assert.equal(payload.ip, null);
    assert.equal(payload.request_id, null);
    assert.deepEqual(payload.details, {});
  });

  it('bounds detail strings as the audit record does', () => {
    const payload = webhookPayload(event('role.assigned', { role: 'x'.repeat(2000) }), APPENDED, AT, { includeIp: false });
    assert.equal((payload.details['role'] as string).length, 512);
  });
});
