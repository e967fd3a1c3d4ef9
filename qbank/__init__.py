"""The question bank (ngân hàng câu hỏi): entries, their storage, and suggestions for questions.

Imports run one way: qbank uses tickets/ and classifiers/, never web/ or tiepnhan/.
"""
