"""The TF-IDF + logistic regression intent model, as plain scikit-learn."""
import numpy as np

from rasa_ext.tfidf_intent_classifier import TfidfModel

STORIES = [(f"老板欠了我{n}个月工资不给，在工地干活的钱一直拖着", "dispute_labor") for n in range(2, 40)]
STORIES += [(f"楼上{n}楼天天往下漏水，找他也不开门", "dispute_neighbor") for n in range(2, 40)]
REPLIES = [("好的", "affirm"), ("行", "affirm"), ("可以", "affirm"), ("不用了", "deny"), ("不要", "deny")]


def _fit(**kwargs):  # type: ignore[no-untyped-def]
    data = STORIES + REPLIES
    texts = [t for t, _ in data]
    return TfidfModel(**kwargs).fit(texts, [" ".join(t) for t in texts], [i for _, i in data],
                                    small_below=10, small_repeat=5)


def test_it_reads_stories_with_typos_and_unseen_numbers():
    model = _fit()
    texts = ["老板托欠我工资好几个月了咋整", "楼上漏水漏到我家了"]
    probs = model.predict_proba(texts, [" ".join(t) for t in texts])
    assert [model.labels[int(np.argmax(row))] for row in probs] == ["dispute_labor", "dispute_neighbor"]
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_short_replies_are_not_drowned_by_stories():
    model = _fit()
    probs = model.predict_proba(["好的", "不用了"], ["好 的", "不用 了"])
    assert [model.labels[int(np.argmax(row))] for row in probs] == ["affirm", "deny"]
