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


def _sklearn_proba(model: TfidfModel, texts: list[str], tokens: list[str]) -> np.ndarray:
    """What scikit-learn itself answers, through its own transform and predict_proba."""
    return model.clf.predict_proba(model._features(texts, tokens, fit=False))


def test_the_fast_path_gives_scikit_learns_probabilities_exactly():
    model = _fit(min_df=1)
    texts = ["老板托欠我工资好几个月了咋整", "楼上漏水漏到我家了", "好的", "不用了", "", "完全没见过的字眼ＡＢＣ"]
    tokens = [" ".join(t) for t in texts]
    fast = model.predict_proba(texts, tokens)
    assert model._coef_t is not False  # the shortcut was taken
    assert np.array_equal(fast, _sklearn_proba(model, texts, tokens))
    for one, token in zip(texts, tokens):  # Rasa asks one message at a time
        assert np.array_equal(model.predict_proba([one], [token]), _sklearn_proba(model, [one], [token]))


def test_the_kept_copy_is_not_pickled_and_is_rebuilt_after_loading():
    import pickle

    model = _fit()
    model.predict_proba(["好的"], ["好 的"])
    again = pickle.loads(pickle.dumps(model))
    assert "_coef_t" not in again.__dict__
    assert np.array_equal(again.predict_proba(["好的"], ["好 的"]), model.predict_proba(["好的"], ["好 的"]))


def test_two_intents_fall_back_to_scikit_learn():
    texts = [t for t, _ in STORIES]
    model = TfidfModel().fit(texts, [" ".join(t) for t in texts], [i for _, i in STORIES])
    probs = model.predict_proba(["楼上漏水"], ["楼 上 漏 水"])
    assert model._coef_t is False
    assert np.array_equal(probs, _sklearn_proba(model, ["楼上漏水"], ["楼 上 漏 水"]))
