// Where a design's knob value comes from (issue 10): a posted patch, a
// talk, or nothing. A verdict may rest only on a cited value; a finding
// whose run took a decision governed by an `unknown` or `guess` knob is
// reported as "depends on <knob>", never as a finding of the design.

import type { MshareKnobs } from './knobs.js';

export interface KnobSource {
  /** patch: the posted code decides it; talk: a talk or mail describes it; unknown: nothing posted says; guess: the model's reading, labelled. */
  status: 'patch' | 'talk' | 'unknown' | 'guess';
  /** Patch subject and date (or talk, article, lore message id). */
  cite: string;
  /** The kernel function of that patch that decides the behaviour. */
  fn?: string;
  /** One line on why the value is what it is, where the citation alone does not say. */
  note?: string;
}

/**
 * A design's citation per knob, plus `unlinkFlush`: the flush range and
 * gather flags of the unlink, which follow from `unlinkPoint` and are not
 * a knob of their own.
 */
export type KnobSources = { readonly [K in keyof MshareKnobs | 'unlinkFlush']?: KnobSource };

/** A status a verdict may not rest on: a finding whose run consulted such a knob "depends on" it. */
export const isUncited = (s: KnobSource | undefined): boolean => s === undefined || s.status === 'unknown' || s.status === 'guess';
