"""Fix the train/dev vs test split of the labelled articles (run once; the result is committed).

Whole articles go to one side. About a fifth of the corpus articles, drawn with a
fixed seed within each source dataset, form the test part, which only the final
figures use. The seed articles always stay in train/dev.

Run: .venv/bin/python experiments/make_split.py
"""

import numpy as np
import pandas as pd

from framing.training.labels import load_label_files
from framing.config import SPLIT_PATH

labels = load_label_files()
articles = pd.Series(sorted(set(labels.article_id)))
source = articles.str.extract(r"^(abp|hn24|dmfs)-")[0].fillna("seed")
rng = np.random.default_rng(2020)
test = set()
for name, group in articles.groupby(source):
    if name != "seed":
        test |= set(rng.choice(group.to_numpy(), size=round(0.2 * len(group)), replace=False))
split = pd.DataFrame({"article_id": articles, "split": ["test" if a in test else "train" for a in articles]})
split.to_csv(SPLIT_PATH, index=False)
print(split.split.value_counts().to_dict())
