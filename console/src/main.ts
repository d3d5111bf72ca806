// Entry point: registers every custom element, then <cp-app> in index.html takes over.
import './components/badge.js';
import './components/alarm.js';
import './components/pager.js';
import './components/pin-key.js';
import './pages/signin.js';
import './pages/enrol.js';
import './pages/home.js';
import './pages/approver.js';
import './pages/transparency.js';
import './app.js';
