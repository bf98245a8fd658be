// Exposes the twitter-text library as window.twttr.txt (the name its docs use).
import twttrText from "twitter-text";
window.twttr = window.twttr || {};
window.twttr.txt = twttrText;
