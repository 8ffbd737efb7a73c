"""The Cookbook notebook "Fine-tuned classification" (openai/openai-cookbook,
examples/Fine-tuned_classification.ipynb): its cells as written, for the tests that run them in a
client venv (tests/e2e/test_openai_clients.py).

The version for the legacy fine-tunes API (2021-2023, ``openai==0.28.1``) and today's
(``babbage-002``, the current ``openai``). The ids in them are the notebook's own; a test puts its
run's where a person would paste theirs.
"""

from __future__ import annotations

# -- the notebook as written for the legacy API (openai==0.28.1) ------------------------------

LEGACY_IMPORTS = """from sklearn.datasets import fetch_20newsgroups
import pandas as pd
import openai

categories = ['rec.sport.baseball', 'rec.sport.hockey']
sports_dataset = fetch_20newsgroups(subset='train', shuffle=True, random_state=42, categories=categories)"""
LEGACY_CREATE = (
    '!openai api fine_tunes.create -t "sport2_prepared_train.jsonl" -v '
    '"sport2_prepared_valid.jsonl" --compute_classification_metrics '
    '--classification_positive_class " baseball" -m ada'
)
LEGACY_RESULTS = "!openai api fine_tunes.results -i ft-2zaA7qi0rxJduWQpdvOvmGn3 > result.csv"
LEGACY_READ = """results = pd.read_csv('result.csv')
results[results['classification/accuracy'].notnull()].tail(1)"""
LEGACY_PLOT = (
    "results[results['classification/accuracy'].notnull()]['classification/accuracy'].plot()"
)
READ_TEST = """test = pd.read_json('sport2_prepared_valid.jsonl', lines=True)
test.head()"""
LEGACY_FIRST = """ft_model = 'ada:ft-openai-2021-07-30-12-26-20'
res = openai.Completion.create(model=ft_model, prompt=test['prompt'][0] + '\\n\\n###\\n\\n', max_tokens=1, temperature=0)
res['choices'][0]['text']
"""
LEGACY_LOGPROBS = """res = openai.Completion.create(model=ft_model, prompt=test['prompt'][0] + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res['choices'][0]['logprobs']['top_logprobs'][0]"""
HOCKEY_TWEET_CELL = (
    'sample_hockey_tweet = """Thank you to the \n@Canes\n and all you amazing Caniacs that have '
    "been so supportive! You guys are some of the best fans in the NHL without a doubt! Really "
    'excited to start this new chapter in my career with the \n@DetroitRedWings\n !!"""\n'
)
BASEBALL_TWEET_CELL = '''sample_baseball_tweet="""BREAKING: The Tampa Bay Rays are finalizing a deal to acquire slugger Nelson Cruz from the Minnesota Twins, sources tell ESPN."""
'''
LEGACY_HOCKEY = (
    HOCKEY_TWEET_CELL
    + """res = openai.Completion.create(model=ft_model, prompt=sample_hockey_tweet + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res['choices'][0]['text']"""
)
LEGACY_BASEBALL = (
    BASEBALL_TWEET_CELL
    + """res = openai.Completion.create(model=ft_model, prompt=sample_baseball_tweet + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res['choices'][0]['text']"""
)

# -- today's notebook (the current openai) ----------------------------------------------------

TODAY_CLIENT_CELL = """from sklearn.datasets import fetch_20newsgroups
import pandas as pd
import openai
import os

client = openai.OpenAI(api_key=os.environ.get("OPENAI_API_KEY", "<your OpenAI API key if not set as env var>"))

categories = ['rec.sport.baseball', 'rec.sport.hockey']
sports_dataset = fetch_20newsgroups(subset='train', shuffle=True, random_state=42, categories=categories)"""
TODAY_EXPLORE = [
    "print(sports_dataset['data'][0])",
    "sports_dataset.target_names[sports_dataset['target'][0]]\n",
    """len_all, len_baseball, len_hockey = len(sports_dataset.data), len([e for e in sports_dataset.target if e == 0]), len([e for e in sports_dataset.target if e == 1])
print(f"Total examples: {len_all}, Baseball examples: {len_baseball}, Hockey examples: {len_hockey}")""",
    """import pandas as pd

labels = [sports_dataset.target_names[x].split('.')[-1] for x in sports_dataset['target']]
texts = [text.strip() for text in sports_dataset['data']]
df = pd.DataFrame(zip(texts, labels), columns = ['prompt','completion']) #[:300]
df.head()""",
    """df.to_json("sport2.jsonl", orient='records', lines=True)""",
]
TODAY_CREATE = """train_file = client.files.create(file=open("sport2_prepared_train.jsonl", "rb"), purpose="fine-tune")
valid_file = client.files.create(file=open("sport2_prepared_valid.jsonl", "rb"), purpose="fine-tune")

fine_tuning_job = client.fine_tuning.jobs.create(training_file=train_file.id, validation_file=valid_file.id, model="babbage-002")

print(fine_tuning_job)"""
PERSON_WAITS = """import time
while client.fine_tuning.jobs.retrieve(fine_tuning_job.id).status not in ("succeeded", "failed", "cancelled"):
    time.sleep(0.5)"""
"""Not the notebook's: the person who waits for the job ("trained in about ten minutes")."""
NOTEBOOK_FINE_TUNE_ID = "ft-2zaA7qi0rxJduWQpdvOvmGn3"
NOTEBOOK_MODEL = "ada:ft-openai-2021-07-30-12-26-20"
"""The notebook's fine-tune id and model, in the cells that name them."""
TODAY_STATUS = """fine_tune_results = client.fine_tuning.jobs.retrieve(fine_tuning_job.id)
print(fine_tune_results.finished_at)"""
TODAY_RESULT_FILE = """fine_tune_results = client.fine_tuning.jobs.retrieve(fine_tuning_job.id).result_files
result_file = client.files.retrieve(fine_tune_results[0])
content = client.files.content(result_file.id)
# save content to file
with open("result.csv", "wb") as f:
    f.write(content.text.encode("utf-8"))"""
TODAY_READ = """results = pd.read_csv('result.csv')
results[results['train_accuracy'].notnull()].tail(1)"""
TODAY_PLOT = "results[results['train_accuracy'].notnull()]['train_accuracy'].plot()"
TODAY_FIRST = """ft_model = fine_tune_results.fine_tuned_model

# note that this calls the legacy completions api - https://platform.openai.com/docs/api-reference/completions
res = client.completions.create(model=ft_model, prompt=test['prompt'][0] + '\\n\\n###\\n\\n', max_tokens=1, temperature=0)
res.choices[0].text
"""
TODAY_LOGPROBS = """res = client.completions.create(model=ft_model, prompt=test['prompt'][0] + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res.choices[0].logprobs.top_logprobs"""
TODAY_HOCKEY = (
    HOCKEY_TWEET_CELL
    + """res = client.completions.create(model=ft_model, prompt=sample_hockey_tweet + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res.choices[0].text"""
)
TODAY_BASEBALL = (
    BASEBALL_TWEET_CELL
    + """res = client.completions.create(model=ft_model, prompt=sample_baseball_tweet + '\\n\\n###\\n\\n', max_tokens=1, temperature=0, logprobs=2)
res.choices[0].text"""
)
TODAY_CELLS = [
    TODAY_CLIENT_CELL,
    *TODAY_EXPLORE,
    TODAY_CREATE,
    PERSON_WAITS,
    # After training, the notebook's own order (its execution counts): the status cell (58) ran
    # again after the result cells (48, 52) and before the model cell (69), which reads
    # ``fine_tune_results.fine_tuned_model``; in page order that name still holds the result
    # file list.
    TODAY_RESULT_FILE,
    TODAY_READ,
    TODAY_PLOT,
    READ_TEST,
    TODAY_STATUS,
    TODAY_FIRST,
    TODAY_LOGPROBS,
    TODAY_HOCKEY,
    TODAY_BASEBALL,
]
