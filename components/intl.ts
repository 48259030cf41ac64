// Plurals and relative times through Intl, for the English defaults and for translation tables in any language.

const pluralRules = new Map<string, Intl.PluralRules>();
const numberFormats = new Map<string, Intl.NumberFormat>();
const relativeFormats = new Map<string, Intl.RelativeTimeFormat>();

function cached<T>(cache: Map<string, T>, lang: string, make: () => T): T {
  let value = cache.get(lang);
  if (!value) cache.set(lang, (value = make()));
  return value;
}

/**
 * A count's words in each plural category its language uses (see `Intl.PluralRules`); `other` is required
 * and stands in for any category left out. `#` is replaced by the count, formatted for the language.
 */
export type PluralForms = Partial<Record<Intl.LDMLPluralRule, string>> & { other: string };

/** The form of `forms` that `Intl.PluralRules(lang)` picks for `count`, with `#` replaced by the formatted count. */
export function plural(lang: string, count: number, forms: PluralForms): string {
  const category = cached(pluralRules, lang, () => new Intl.PluralRules(lang)).select(count);
  const form = forms[category] ?? forms.other;
  return form.replace(/#/g, () => cached(numberFormats, lang, () => new Intl.NumberFormat(lang)).format(count));
}

function relative(lang: string): Intl.RelativeTimeFormat {
  return cached(relativeFormats, lang, () => new Intl.RelativeTimeFormat(lang, { numeric: 'always' }));
}

/** The largest whole unit a span of seconds is best said in: seconds under a minute, then minutes, hours, days. */
function unitOf(seconds: number): [number, Intl.RelativeTimeFormatUnit] {
  if (seconds < 60) return [seconds, 'second'];
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return [minutes, 'minute'];
  const hours = Math.round(minutes / 60);
  if (hours < 24) return [hours, 'hour'];
  return [Math.round(hours / 24), 'day'];
}

/** How long ago a moment `ms` milliseconds back was, through `Intl.RelativeTimeFormat`: "5 minutes ago", "vor 5 Minuten". */
export function timeAgo(lang: string, ms: number): string {
  const [value, unit] = unitOf(Math.max(0, Math.round(ms / 1000)));
  return relative(lang).format(-value, unit);
}

/** How long until a moment `seconds` ahead, through `Intl.RelativeTimeFormat`: "in 30 seconds", "in 2 Minuten". */
export function timeUntil(lang: string, seconds: number): string {
  // Seconds and minutes rounded up: a countdown must not say "in 0 seconds" while there is still time left. From an
  // hour on, the nearest hour or day ("in 60 minutes" for a one-hour Retry-After read oddly).
  if (seconds < 60) return relative(lang).format(Math.max(0, Math.ceil(seconds)), 'second');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return relative(lang).format(minutes, 'minute');
  // Past 59 whole minutes rounded up: at least an hour, in unitOf's hours or days.
  const [value, unit] = unitOf(Math.max(seconds, 3600));
  return relative(lang).format(value, unit);
}
