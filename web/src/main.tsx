// The browser app's entry: one root, one stylesheet file, no inline script or style (the
// page's CSP allows neither).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { session } from './session.ts';
import './styles.css';

// A session the browser already holds (its httpOnly cookies) survives a reload.
void session.restore();

const container = document.getElementById('root');
if (container === null) throw new Error('index.html has no #root element');
createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
