// LIKE / ILIKE patterns built from what a user typed. PostgreSQL's default escape character is the
// backslash, so escaping it, `%` and `_` makes the user's text match literally: searching for
// "50%" finds "50%", not everything starting with "50".

/** `text` with LIKE's wildcards (and the escape character) taken literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}

/** The pattern for "contains `text`" (pair it with ILIKE for a case-insensitive match). */
export function containsPattern(text: string): string {
  return `%${escapeLike(text)}%`;
}
