/** Prefix of the line on which a child reports its case result. */
export const RESULT_MARKER = '@@whitebox-fuzz-result@@';
