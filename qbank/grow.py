"""Growing the bank from the work: an agent's answer saved as a draft entry, and the repeated
questions that no entry answers well, grouped (scikit-learn's agglomerative clustering over the
retrieval tokens)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlmodel import Session, select

from qbank.entry import BankEntry, EntryError
from qbank.models import BankEntryRow
from qbank.represent import BIGRAM_JOIN, read_words, tokens_of
from qbank.retrieve import DEFAULT_THRESHOLD, suggest
from qbank.store import save_entry
from qbank.suggestions import latest_citizen_message, published_index
from tickets.models import Ticket

# Two questions are in one cluster when their average cosine distance is below this.
CLUSTER_DISTANCE = 0.75
MIN_CLUSTER_SIZE = 2


def save_answer_as_draft(session: Session, text: str, question: str, actor: str) -> BankEntryRow:
    """An agent's answer, with the question it answers, as a new draft entry (a coordinator
    reviews and publishes it). Raises EntryError when either is empty."""
    if not text.strip() or not question.strip():
        raise EntryError("cần cả câu hỏi và câu trả lời để lưu thành mục nháp")
    entry = BankEntry(id=f"draft-{uuid.uuid4().hex[:10]}", question=question.strip(), answer=text.strip(), status="draft")
    row, _changed = save_entry(session, entry, actor)
    return row


@dataclass(frozen=True)
class QuestionCluster:
    ticket_ids: tuple[int, ...]
    words: tuple[str, ...]  # the words most of its questions share (folded), to name the cluster
    example: str  # the first ticket's question as written


def unanswered_clusters(session: Session, since: datetime, until: datetime, threshold: float = DEFAULT_THRESHOLD) -> list[QuestionCluster]:
    """Clusters (at least two tickets) of question tickets created in [since, until) that no
    published entry answers above the threshold, largest first."""
    tickets = session.exec(
        select(Ticket).where(Ticket.category == "question", Ticket.created_at >= since, Ticket.created_at < until).order_by(Ticket.id)  # type: ignore[arg-type]
    ).all()
    index = published_index(session)
    unanswered: list[tuple[int, str, list[str]]] = []
    for ticket in tickets:
        message = latest_citizen_message(session, ticket.id or 0)
        if message is None:
            continue
        subject = message.subject or ticket.subject
        found = index is not None and suggest(index, subject, message.full_text, insurance_types=list(ticket.insurance_types), topics=list(ticket.topics), category=ticket.category, threshold=threshold)
        if found:
            continue
        tokens = tokens_of(read_words(subject, message.full_text))
        if tokens:
            unanswered.append((ticket.id or 0, message.full_text.strip().splitlines()[0] if message.full_text.strip() else subject, tokens))
    if len(unanswered) < MIN_CLUSTER_SIZE:
        return []
    vectors = TfidfVectorizer(analyzer=lambda tokens: tokens).fit_transform([tokens for _, _, tokens in unanswered])
    labels = AgglomerativeClustering(n_clusters=None, distance_threshold=CLUSTER_DISTANCE, metric="cosine", linkage="average").fit_predict(
        np.asarray(vectors.toarray())
    )
    clusters = []
    for label in sorted(set(labels)):
        members = [item for item, item_label in zip(unanswered, labels, strict=True) if item_label == label]
        if len(members) < MIN_CLUSTER_SIZE:
            continue
        shared = Counter(token for _, _, tokens in members for token in set(tokens) if BIGRAM_JOIN not in token and token.isascii())
        words = tuple(word for word, n in shared.most_common(10) if n * 2 >= len(members))
        clusters.append(QuestionCluster(tuple(ticket_id for ticket_id, _, _ in members), words, members[0][1]))
    return sorted(clusters, key=lambda c: (-len(c.ticket_ids), c.ticket_ids))
