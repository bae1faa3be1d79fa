"""A small multilingual corpus written for this generator; the BPE trainer learns its pieces here."""

CORPUS = """\
The quick brown fox jumps over the lazy dog. The dog was not amused, and the fox ran away into the forest.
Hello! How are you today? I am fine, thank you. What is the weather like in Paris this morning?
A language model predicts the next token from the tokens before it. The model reads the prompt and writes an answer.
Please explain in one sentence what you are. I am a small test model that produces varied tokens for the test suite.
Tools can be called by the model: it writes a call, waits for the response, and then continues the answer.
The sliding window keeps only the most recent tokens, while full attention layers see the whole context.
Bonjour, explique en une phrase ce que tu es. Je suis un petit modèle de test, et je réponds en français.
Le renard brun saute par-dessus le chien paresseux. Il fait beau aujourd'hui à Paris, mais demain il pleuvra.
Où est la gare ? C'est à côté de l'hôtel, près du marché. Merci beaucoup, à bientôt !
Guten Morgen! Wie geht es dir? Mir geht es gut, danke. Die Straße ist heute sehr ruhig und schön.
Der schnelle braune Fuchs springt über den faulen Hund. Größe, Übung und Ärger sind deutsche Wörter.
Hola, ¿cómo estás? Estoy muy bien, gracias. El niño come una manzana en la mañana. ¡Qué día tan bonito!
El zorro marrón salta sobre el perro perezoso. La canción del año es muy famosa en España y en México.
Ciao, come stai? Sto bene, grazie. La città è bellissima e il caffè è molto buono. Perché no?
Olá, tudo bem? Eu estou ótimo, obrigado. A informação está disponível em português também.
Привет! Как дела? У меня всё хорошо, спасибо. Москва — столица России. Это маленькая тестовая модель.
Быстрая коричневая лиса прыгает через ленивую собаку. Сегодня хорошая погода.
你好！你今天怎么样？我很好，谢谢。这是一个小型测试模型。北京是中国的首都。我们一起学习语言模型。
今天天气很好，我们去公园散步吧。模型会根据前面的词预测下一个词。
こんにちは。お元気ですか？私は元気です。これは小さなテストモデルです。東京は日本の首都です。
ありがとうございます。今日はいい天気ですね。モデルは次のトークンを予測します。
안녕하세요. 만나서 반갑습니다. 이것은 작은 테스트 모델입니다. 서울은 한국의 수도입니다.
مرحبا، كيف حالك؟ أنا بخير، شكرا. هذا نموذج اختبار صغير. القاهرة عاصمة مصر.
नमस्ते, आप कैसे हैं? मैं ठीक हूँ, धन्यवाद। यह एक छोटा परीक्षण मॉडल है।
Γεια σου! Τι κάνεις; Είμαι καλά, ευχαριστώ. Αυτό είναι ένα μικρό μοντέλο.
Merhaba, nasılsın? İyiyim, teşekkür ederim. Bu küçük bir test modelidir.
Xin chào! Bạn khỏe không? Tôi khỏe, cảm ơn bạn. Đây là một mô hình thử nghiệm nhỏ.
Emoji are tokens too: 🙂 👍 🚀 ❤️ 🎉 — and so are symbols like € £ ¥ © ® ™ ± × ÷ ≤ ≥ ≠ ∞.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 256 1024 2025 3.14159 -7 +12 50% 1,000,000.
def add(a, b):
    return a + b

for i in range(10):
    print(i, add(i, i * 2))

int main(int argc, char** argv) {
    std::vector<int> values = {1, 2, 3};
    for (int v : values) { std::cout << v << "\\n"; }
    return 0;
}

{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius", "days": 3}}
<html><body><p>Hello, world!</p></body></html>
SELECT name, count(*) FROM users WHERE age >= 18 GROUP BY name ORDER BY count(*) DESC;
The answer is 42. The capital of France is Paris. The capital of Germany is Berlin. The capital of Japan is Tokyo.
Once upon a time, there was a little robot who wanted to learn every language in the world.
The user asks, the model answers; the system turn sets the rules. A tool declaration has a name, a description,
parameters, properties, a type and the required fields; a call returns a response with the result.
It started with English, then French, then Spanish, and soon it could say hello in twenty languages.
"""
