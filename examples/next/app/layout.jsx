import { apiUrl } from './config.js';
import { Providers } from './providers.jsx';
import './style.css';

export const dynamic = 'force-dynamic'; // API_URL is read per request, not baked in at build time

export const metadata = { title: 'authgate · Next.js example', icons: { icon: 'data:,' } };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>
        <Providers apiUrl={apiUrl()}>{children}</Providers>
      </body>
    </html>
  );
}
