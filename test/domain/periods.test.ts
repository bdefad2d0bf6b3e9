import { describe, expect, it } from 'vitest';
import { parseConsumptionPeriod, periodEnd, periodStart, type ConsumptionPeriod } from '../../server/domain/periods.js';

const at = (iso: string) => new Date(iso);
const end = (period: ConsumptionPeriod, iso: string) => periodEnd(period, at(iso)).toISOString();
const start = (period: ConsumptionPeriod, iso: string) => periodStart(period, at(iso)).toISOString();

describe('consumption periods (midnight UTC boundaries)', () => {
  it('daily: ends at the next midnight UTC, across month ends and leap days', () => {
    expect(end('daily', '2026-03-10T10:00:00Z')).toBe('2026-03-11T00:00:00.000Z');
    expect(end('daily', '2024-02-28T23:59:59.999Z')).toBe('2024-02-29T00:00:00.000Z');
    expect(end('daily', '2023-02-28T12:00:00Z')).toBe('2023-03-01T00:00:00.000Z');
    expect(end('daily', '2026-12-31T18:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
  });

  it('a period contains its first instant: at midnight exactly, the day that starts then ends a day later', () => {
    expect(start('daily', '2026-03-11T00:00:00Z')).toBe('2026-03-11T00:00:00.000Z');
    expect(end('daily', '2026-03-11T00:00:00Z')).toBe('2026-03-12T00:00:00.000Z');
    expect(end('daily', '2026-03-10T23:59:59.999Z')).toBe('2026-03-11T00:00:00.000Z');
  });

  it('weekly: starts on Monday, ends on the next Monday', () => {
    // 2026-06-01 is a Monday.
    expect(start('weekly', '2026-06-01T00:00:00Z')).toBe('2026-06-01T00:00:00.000Z');
    expect(end('weekly', '2026-06-01T00:00:00Z')).toBe('2026-06-08T00:00:00.000Z');
    expect(start('weekly', '2026-06-07T23:59:59Z')).toBe('2026-06-01T00:00:00.000Z');
    expect(end('weekly', '2026-06-07T23:59:59Z')).toBe('2026-06-08T00:00:00.000Z');
    // A Thursday in a leap February: the week runs into March.
    expect(start('weekly', '2024-02-29T12:00:00Z')).toBe('2024-02-26T00:00:00.000Z');
    expect(end('weekly', '2024-02-29T12:00:00Z')).toBe('2024-03-04T00:00:00.000Z');
    // Across a year end.
    expect(end('weekly', '2026-12-31T12:00:00Z')).toBe('2027-01-04T00:00:00.000Z');
  });

  it('monthly: ends on the 1st of the next month, whatever the month length', () => {
    expect(end('monthly', '2026-01-31T23:00:00Z')).toBe('2026-02-01T00:00:00.000Z');
    expect(end('monthly', '2026-02-28T12:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
    expect(end('monthly', '2024-02-29T12:00:00Z')).toBe('2024-03-01T00:00:00.000Z');
    expect(end('monthly', '2026-04-30T12:00:00Z')).toBe('2026-05-01T00:00:00.000Z');
    expect(end('monthly', '2026-12-15T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(start('monthly', '2026-03-01T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
  });

  it('annually: ends on 1 January of the next year, leap years included', () => {
    expect(end('annually', '2024-02-29T12:00:00Z')).toBe('2025-01-01T00:00:00.000Z');
    expect(end('annually', '2026-12-31T23:59:59.999Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(start('annually', '2027-01-01T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(end('annually', '2027-01-01T00:00:00Z')).toBe('2028-01-01T00:00:00.000Z');
  });

  it('reads the four periods, and `annualy` as annually', () => {
    expect(['daily', 'weekly', 'monthly', 'annually', 'annualy', 'yearly', ''].map(parseConsumptionPeriod)).toEqual(['daily', 'weekly', 'monthly', 'annually', 'annually', undefined, undefined]);
  });
});
