// Shared list of test strings for the tokenizer goldens (LLaMA vocab via node, small SentencePiece model via python
// reads strings.json written by this module's main). Varied on purpose: whitespace runs, newlines, digits,
// punctuation, code, accented Latin, CJK, Arabic, emoji, byte-fallback characters, special-token strings.
export function testStrings() {
  const s = [
    "", " ", "  ", "   ", "\n", "\n\n", "\t", " \t \n ", "a", "A", "Hello world", "Hello  world", " Hello world",
    "Hello world ", "hello\nworld", "Hello,\tworld!", "USER: ", "USER: Describe the image. ASSISTANT:",
    " ASSISTANT:", "Describe the image.", "What is in this picture?", "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX", "tHe QuIcK bRoWn", "don't can't won't I'm you're", "e.g. i.e. etc. Mr. Mrs. Dr.",
    "1", "12", "123", "1234567890", "3.14159", "-42", "1,000,000", "2023-11-30T06:30:00Z", "0x7fff_ffff",
    "$19.99", "100%", "a+b=c", "x^2 + y^2 = z^2", "(1 + 2) * 3 / 4 - 5", "!!!", "???", "...", "…", "—", "–",
    "\"quoted\"", "'single'", "«guillemets»", "„German“", "“curly”", "<b>bold</b>", "<html><body>hi</body></html>",
    "https://example.com/path?q=1&r=2#frag", "user@example.com", "#hashtag @mention", "C:\\Windows\\System32",
    "/usr/local/bin", "~/.bashrc", "a_b_c", "snake_case_name", "camelCaseName", "PascalCaseName", "kebab-case-name",
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}",
    "public static void main(String[] args) {}", "SELECT * FROM users WHERE id = 1;", "import numpy as np",
    "console.log(\"hi\");", "#include <stdio.h>", "if x == 1:\n        pass", "{\"key\": [1, 2, 3]}",
    "    indented four", "        indented eight", "trailing spaces    ", "mixed \t tabs \t and spaces",
    "line1\r\nline2", "a\n\n\nb", "\n\nleading newlines", "café", "naïve résumé", "Ångström", "São Paulo",
    "Zürich straße", "ñandú", "Œuvre", "Łódź", "Čeština", "Ελληνικά", "Привет, мир!", "Здравствуйте", "Україна",
    "日本語のテキスト", "東京", "中文测试", "你好，世界！", "我爱北京天安门", "한국어 텍스트", "안녕하세요",
    "ภาษาไทย", "हिन्दी", "नमस्ते दुनिया", "עברית", "مرحبا بالعالم", "اللغة العربية", "فارسی", "😀", "😀😃😄",
    "👍🏽", "👨‍👩‍👧‍👦", "🇺🇸🇯🇵", "I ❤️ Java", "☃", "★☆", "♠♥♦♣", "∑∫∂√∞", "≤≥≠≈", "→←↑↓", "€£¥₹",
    "©®™", "°C", "½ ¾", "µ", "ß", "ﬁ ligature", "ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ", "\u00a0nbsp", "zero\u200bwidth",
    "\u0000", "\u0001\u0002", "\u007f", "combining e\u0301", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𠀀", "🦙 llama", "▁", "▁▁", "a▁b",
    "<unk>", "<s>", "</s>", "<0x0A>", "<|image|>", "<s>Hello", "Hello</s>", "A1</s>USER: Q2 ASSISTANT:",
    "x</s>y", " </s> ", "</s></s>", "<unk>word", "a<s>b</s>c<unk>d", "<<s>>", "</s", "s>", "<s",
    "USER: <|image|>Describe the image. ASSISTANT:", "Describe the image. ASSISTANT:",
    "Q1 ASSISTANT: A1</s>USER: Q2 ASSISTANT:", "Q1 ASSISTANT:", "A1", "What is the man holding? ASSISTANT:",
    "What is the man holding? ASSISTANT: He is holding an umbrella.</s>USER: What color is it? ASSISTANT:",
    "He is holding an umbrella.", "USER: What color is it? ASSISTANT:", "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababab", "zzzz",
    "qwertyuiop", "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "To be, or not to be, that is the question:", "It was the best of times, it was the worst of times.",
    "The mPLUG-Owl2 model uses a ViT-L/14 encoder.", "LLaMA-2-7B", "GPT-4", "ChatGPT", "OpenAI", "PyTorch",
    "tokenization", "Tokenizer", "un-believ-able", "re-enter", "co-operate", "U.S.A.", "NASA", "e-mail",
    "A  B   C    D", "end.", "end. ", ". start", "?!", "¿Qué tal?", "¡Hola!", "Ça va?", "l'été", "Straße",
    "Tschüß", "İstanbul", "ǅ", "ŉ", "Ə", "ვ", "Հայերեն", "አማርኛ", "ᚠᚢᚦ", "𓀀", "😂🤣", "🧑‍💻", "1️⃣", "❤",
    "数字123abc", "mixed中文English混合", "emoji😀text", "Arabic عربي mixed", "tab\tseparated\tvalues",
    "comma,separated,values", "pipe|separated", "semi;colon", "key=value&other=thing", "[1, 2, 3]", "(a, b)",
    "{}", "[]", "()", "<>", "``", "```python\nprint(1)\n```", "**bold** _italic_", "# Heading\n\n- item",
    "> quote", "1. first\n2. second", "a\\nb", "\\u0041", "%d %s %f", "${var}", "@Override", "->", "=>", "::",
    "!==", "&&", "||", "<<=", ">>>", "/* comment */", "// comment", "<!-- html -->", "\u2581leading block", "a@@b", "@@@", " @@ ", "@@",
  ];
  // Generated variety: numbers, repeated characters and space runs of many lengths.
  for (let i = 1; i <= 12; i++) s.push(" ".repeat(i) + "x");
  for (let i = 1; i <= 8; i++) s.push("\n".repeat(i));
  for (let i = 0; i < 10; i++) s.push(String(Math.floor(Math.pow(7.3, i))));
  for (const w of ["the", "and", "ing", "tion", "ASSISTANT", "USER"]) s.push(w, w + w, " " + w, w.toUpperCase() + ":");
  return [...new Set(s)];
}
